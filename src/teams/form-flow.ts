import { COUNTED_WORDS } from "../incidents/bounds";
import { incidentRef, type Actor, type EntryPoint, type Incident, type MessageEvidence } from "../incidents/model";
import type { ReportErrors, ReportForm } from "../incidents/report";
import type { CreateOptions, IncidentService, Role } from "../incidents/service";
import { evidenceId, evidenceOf } from "../incidents/form-entities";
import type { FieldErrors, IncidentForm } from "../incidents/validation";
import type { Logger } from "../log";
import { randomUUID } from "node:crypto";
import { reporterView } from "../incidents/visibility";
import { helpCard, incidentCreatedCard, triageCard, type AdaptiveCard } from "./cards";
import { reportReceivedCard, reporterCard } from "./reporter-cards";
import { formChoices } from "./form-choices";
import { NO_DEFENDER_FIELDS } from "../incidents/form-entities";
import { emptyForm, emptyReport, incidentFormCard, reportFormCard } from "./form-cards";
import type { AttachRender } from "./attach-flow";
import { whenDown } from "./outage";
import { restrictedCard } from "./shared-view";
import type { Requester, SubmissionTokens } from "./submission-tokens";

/** Where and how a form is shown; nothing here changes what is stored. */
export interface FormRender extends AttachRender {
  /** Shown next to their fields. */
  errors?: FieldErrors;
  /** A problem that belongs to no field (a dependency is down, a rate limit). */
  banner?: string;
  /** In a message-extension dialog (Action.Submit), carrying the message's evidence back. */
  dialog?: { evidence: MessageEvidence };
  /** Editing this incident, from this revision, rather than creating one. */
  edit?: { incident: Incident; revision: number };
}

export type ReportRender = Omit<FormRender, "errors" | "edit"> & { errors?: ReportErrors };

/** What a form submission is about: who sends it, in which role, from where. */
export interface FormInput extends Pick<CreateOptions, "message"> {
  form: IncidentForm;
  who: Requester;
  role: Role;
  entryPoint: EntryPoint;
  evidence?: MessageEvidence;
  /** The Teams message the form was clicked in (a chat card), recorded with a new incident. */
  messageId?: string;
  /** The conversation of that message, to redraw it later (Sentinel's number). */
  formConversation?: Record<string, unknown>;
  /** How to reach the person later about what they reported (src/teams/reporter-notifier.ts). */
  contact?: Record<string, unknown>;
}

export interface ReportInput extends Pick<CreateOptions, "message"> {
  report: ReportForm;
  who: Requester;
  timeZone: string | undefined;
  evidence?: MessageEvidence;
  messageId?: string;
  contact?: Record<string, unknown>;
}

export type SubmitOutcome =
  /** `card` for the person who sent it; `forEveryone` for others who see the form's message. */
  | { kind: "created"; incident: Incident; isNew: boolean; card: AdaptiveCard; forEveryone: AdaptiveCard }
  /** Their report was added to (or counted on, when full) the incident made from the same message; `card` is theirs only. */
  | { kind: "added" | "counted"; incident: Incident; card: AdaptiveCard }
  | { kind: "form"; card: AdaptiveCard };

const EVIDENCE_AGAIN = "The evidence list shows all it holds now: untick again what should go.";

/** When a form's id belongs to someone else's incident: the form comes back with a new id. */
const TAKEN =
  "This form had already been used for another incident, so nothing was saved. Everything you typed is still here: " +
  "send it again to create a new one.";

/**
 * The one path every entry point uses to show the form and to submit it. Each submission carries
 * the whole form, so any bot instance can answer any request. On any problem the form comes back
 * with everything typed kept.
 */
export class FormFlow {
  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
    private readonly tokens: SubmissionTokens,
  ) {}

  /** The form for `who`, prefilled with `form` (a new one when omitted), with its choices; its id signed for them. */
  async formCard(who: Requester, form: IncidentForm = emptyForm(), render: FormRender = {}): Promise<AdaptiveCard> {
    // A dialog is private; a card in a channel or a group chat is read by everyone there.
    const recent = !(who.shared === true && !render.dialog);
    const quietly = <T>(work: () => Promise<T>) => this.quietly(work);
    const choices = await formChoices(this.service, quietly, who.actor, form, recent, render.edit?.incident);
    return incidentFormCard({
      form,
      ...choices,
      categoryRequired: this.service.categoryRequired,
      ...this.signed(who, form.submissionId, render),
      ...(render.errors && { errors: render.errors }),
      ...(render.banner && { banner: render.banner }),
      ...(render.edit && { edit: render.edit }),
      ...(render.attach && { attach: render.attach }),
    });
  }

  /** The employee's report for `who`, its id signed for them. */
  reportCard(who: Requester, report: ReportForm, render: ReportRender = {}): AdaptiveCard {
    return reportFormCard({
      form: report,
      ...this.signed(who, report.submissionId, render),
      ...(render.errors && { errors: render.errors }),
      ...(render.banner && { banner: render.banner }),
    });
  }

  /** The form a person gets by role: analysts the full Sentinel form, employees the short report. */
  async formFor(role: Role, who: Requester): Promise<AdaptiveCard> {
    return role === "analyst" ? this.formCard(who) : this.reportCard(who, emptyReport());
  }

  /** The tokens a form carries: for its id, and, in a dialog, for the message evidence it carries back. */
  private signed(who: Requester, id: string, render: Pick<FormRender, "dialog">) {
    const evidence = render.dialog?.evidence;
    return {
      submissionToken: this.tokens.submission(id, who),
      ...(evidence && { mode: "dialog" as const, evidenceData: evidence, evidenceToken: this.tokens.evidence(evidence, id) }),
    };
  }

  /** Validates and stores the full form (an employee's only as far as their role allows). */
  async submit(input: FormInput, render: Pick<FormRender, "dialog"> = {}): Promise<SubmitOutcome> {
    const { form, who } = input;
    const actor = who.actor;
    // An employee's crafted payload: Defender's fields are the SOC's, never looked up (a directory id's name) nor shown back.
    const shown = input.role === "employee" ? { ...form, ...NO_DEFENDER_FIELDS } : form;
    const back = (more: FormRender) => this.formCard(who, shown, { ...render, ...more });
    return whenDown(
      this.log,
      "create",
      async (): Promise<SubmitOutcome> => {
        const options = {
          role: input.role,
          ...(input.evidence && { evidence: input.evidence }),
          ...(input.message && { message: input.message }),
          ...(input.messageId && { formMessageId: input.messageId }),
          ...(input.formConversation && { formConversation: input.formConversation }),
          ...(input.contact && { contact: input.contact }),
        };
        const result = await this.service.create(form, actor, input.entryPoint, options);
        switch (result.kind) {
          case "invalid":
            return { kind: "form", card: await back({ errors: result.errors }) };
          case "taken":
            return {
              kind: "form",
              card: await this.formCard(who, { ...form, submissionId: randomUUID() }, { ...render, banner: TAKEN }),
            };
          case "added":
          case "counted":
            return this.added(result, actor);
          case "created":
            return this.created(result.incident, result.isNew, incidentCreatedCard(result.incident, { repeated: !result.isNew }));
        }
      },
      async (banner) => ({ kind: "form", card: await back({ banner }) }),
    );
  }

  /** An employee's report: validated and stored. */
  async submitReport(input: ReportInput, render: Pick<ReportRender, "dialog"> = {}): Promise<SubmitOutcome> {
    const { report, who } = input;
    const actor = who.actor;
    const back = (more: ReportRender): SubmitOutcome => ({
      kind: "form",
      card: this.reportCard(who, report, { ...render, ...more }),
    });
    return whenDown(
      this.log,
      "report",
      async (): Promise<SubmitOutcome> => {
        const where = {
          ...(input.evidence && { evidence: input.evidence }),
          ...(input.message && { message: input.message }),
          ...(input.messageId && { formMessageId: input.messageId }),
          ...(input.contact && { contact: input.contact }),
        };
        const result = await this.service.report(report, actor, input.timeZone, where);
        switch (result.kind) {
          case "invalid":
            return back({ errors: result.errors });
          case "taken":
            return {
              kind: "form",
              card: this.reportCard(who, { ...report, submissionId: randomUUID() }, { ...render, banner: TAKEN }),
            };
          case "added":
          case "counted":
            return this.added(result, actor);
          case "created":
            return this.created(result.incident, result.isNew, reportReceivedCard(result.incident, { repeated: !result.isNew }));
        }
      },
      (banner) => back({ banner }),
    );
  }

  /**
   * Saves an edit from the triage card; a concurrent change brings the form back with a banner,
   * nothing overwritten. `current` is the incident as the caller just read it.
   */
  async submitUpdate(
    current: Incident,
    revision: number,
    form: IncidentForm,
    who: Requester,
  ): Promise<{ updated: Incident | undefined; card: AdaptiveCard }> {
    const actor = who.actor;
    const back = async (render: FormRender, shown = form) => ({
      updated: undefined,
      card: await this.formCard(who, shown, render),
    });
    return whenDown(
      this.log,
      "update",
      async () => {
        const result = await this.service.update(current.id, revision, form, actor);
        switch (result.kind) {
          case "updated":
            return { updated: result.incident, card: triageCard(result.incident, `Saved by ${actor.name}.`) };
          case "invalid":
            return back({ errors: result.errors, edit: { incident: current, revision } });
          case "conflict": {
            const now = result.current;
            const by = now.owner
              ? ` It is now assigned to ${now.owner.assignedTo}, status ${now.status}.`
              : ` Its status is now ${now.status}.`;
            const banner =
              `Someone changed ${incidentRef(now)} while you were editing, so your changes were not saved.${by} ` +
              "Your values are below: save again to apply them over the new version.";
            // Evidence added meanwhile would show unticked, and go on the next save: all of it is ticked again.
            const kept = evidenceOf(now.entities).map(evidenceId).join(",");
            const again = kept ? ` ${EVIDENCE_AGAIN}` : "";
            return back(
              { banner: banner + again, edit: { incident: now, revision: now.revision } },
              { ...form, evidenceKept: kept },
            );
          }
          case "not-found":
            return { updated: undefined, card: helpCard("That incident no longer exists.") };
          case "forbidden":
            return { updated: undefined, card: triageCard(current, "Only SOC analysts can edit incidents.") };
        }
      },
      (banner) => back({ banner, edit: { incident: current, revision } }),
    );
  }

  /** A stored incident: the person's card, and what everyone else in the conversation sees (less, when restricted). */
  private created(incident: Incident, isNew: boolean, card: AdaptiveCard): SubmitOutcome {
    this.log.info(
      { incidentId: incident.id, incidentNumber: incident.incidentNumber, isNew, entryPoint: incident.entryPoint },
      isNew ? "incident created" : "repeated submission answered with the existing incident",
    );
    const forEveryone = incident.restricted
      ? restrictedCard(incident, { heading: `Restricted incident ${incidentRef(incident)} created`, open: false })
      : card;
    return { kind: "created", incident, isNew, card, forEveryone };
  }

  /** Their report was added to an incident someone else made: they see their own words only (counted: none of it). */
  private added({ kind, incident }: { kind: "added" | "counted"; incident: Incident }, actor: Actor): SubmitOutcome {
    const logged = { incidentId: incident.id, incidentNumber: incident.incidentNumber, reportsNotKept: incident.reportsNotKept };
    this.log.info(logged, kind === "added" ? "report added to an existing incident" : "report counted, not kept: incident full");
    if (kind === "counted") return { kind, incident, card: helpCard(COUNTED_WORDS) };
    const view = reporterView(incident, actor);
    const heading = "The SOC already has a report about this message";
    const note = `Yours was added to ${incidentRef(incident)}. Thank you.`;
    const card = view ? reporterCard(view, { heading, note }) : helpCard(note);
    return { kind: "added", incident, card };
  }

  /** Decorations of the form must never keep it from being shown. */
  private async quietly<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.log.warn({ err: error }, "could not fill form choices; showing the form without them");
      return undefined;
    }
  }
}
