import { randomUUID } from "node:crypto";
import { DirectoryUnavailableError, StoreUnavailableError } from "../incidents/errors";
import type { Actor, EntryPoint, Incident, MessageEvidence } from "../incidents/model";
import type { DirectoryEntry } from "../incidents/ports";
import type { IncidentService } from "../incidents/service";
import { parseTags } from "../incidents/tags";
import { ASSIGN_TO_ME, isObjectId, type FieldErrors, type IncidentForm } from "../incidents/validation";
import type { Logger } from "../log";
import type { ReportErrors, ReportForm } from "../incidents/report";
import type { Role, UpdateResult } from "../incidents/service";
import { CLOSING_CHOICES } from "../incidents/model";
import {
  incidentCard,
  incidentCreatedCard,
  incidentFormCard,
  reportFormCard,
  reportReceivedCard,
  type AdaptiveCard,
  type Choice,
  helpCard,
} from "./cards";
import { incidentRef } from "../incidents/model";

/** How many recent tags a new form offers without typing. */
const TOP_TAGS = 10;

/** "Megan Bowen · meganb@contoso.com" or "SOC Tier 1 · group": a person can tell a group from a user. */
export function ownerLabel(entry: DirectoryEntry): string {
  if (entry.kind === "Group") return `${entry.displayName} · group`;
  const address = entry.email ?? entry.userPrincipalName;
  return address ? `${entry.displayName} · ${address}` : entry.displayName;
}

export function emptyForm(): IncidentForm {
  return {
    submissionId: randomUUID(),
    title: "",
    description: "",
    severity: "Medium",
    status: "New",
    closing: "",
    closingComment: "",
    owner: "",
    tags: "",
  };
}

export function emptyReport(prefill: Partial<ReportForm> = {}): ReportForm {
  return { submissionId: randomUUID(), title: "", whatHappened: "", whenDate: "", whenTime: "", where: "", urgent: "false", ...prefill };
}

/** The form's values for an existing incident, so Edit opens with what is stored. */
export function formOf(incident: Incident): IncidentForm {
  const closing = CLOSING_CHOICES.find((c) => c.classification === incident.classification && c.reason === incident.classificationReason);
  return {
    submissionId: incident.id,
    title: incident.title,
    description: incident.description,
    severity: incident.severity,
    status: incident.status,
    closing: closing?.value ?? "",
    closingComment: incident.classificationComment ?? "",
    owner: incident.owner?.objectId ?? "",
    tags: incident.labels.map((l) => l.labelName).join(","),
  };
}

/** Options for showing a form somewhere other than a chat card. */
export interface FormPlace {
  mode?: "card" | "dialog";
  evidenceData?: unknown;
}

export type SubmitOutcome =
  | { kind: "created"; incident: Incident; isNew: boolean; card: AdaptiveCard }
  | { kind: "form"; card: AdaptiveCard };

/**
 * The one path every entry point uses to show the form and to submit it. Each submission carries
 * the whole form, so any bot instance can answer any request.
 */
export class FormFlow {
  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
  ) {}

  /** The form, prefilled with `form` (a new one when omitted), errors and banner next to the fields. */
  async formCard(
    actor: Actor,
    form: IncidentForm = emptyForm(),
    errors?: FieldErrors,
    banner?: string,
    place: FormPlace & { edit?: { incident: Incident; revision: number } } = {},
  ): Promise<AdaptiveCard> {
    const [ownerChoices, tagChoices] = await Promise.all([this.ownerChoices(actor, form.owner), this.tagChoices(form.tags)]);
    return incidentFormCard({ form, ...(errors && { errors }), ...(banner && { banner }), ownerChoices, tagChoices, ...place });
  }

  /** The form a person gets by role: analysts the full Sentinel form, employees the short report. */
  async formFor(role: Role, actor: Actor): Promise<AdaptiveCard> {
    return role === "analyst" ? this.formCard(actor) : reportFormCard({ form: emptyReport() });
  }

  reportCard(report: ReportForm, errors?: ReportErrors, banner?: string, place: FormPlace = {}): AdaptiveCard {
    return reportFormCard({ form: report, ...(errors && { errors }), ...(banner && { banner }), ...place });
  }

  /** An employee's report: validated and stored; on any problem the report comes back as typed. */
  async submitReport(report: ReportForm, actor: Actor, timeZone: string | undefined, place: FormPlace & { evidence?: MessageEvidence } = {}): Promise<SubmitOutcome> {
    const { evidence, ...where } = place;
    try {
      const result = await this.service.report(report, actor, timeZone, evidence);
      if (result.kind === "invalid") return { kind: "form", card: this.reportCard(report, result.errors, undefined, where) };
      this.logCreated(result.incident, result.isNew);
      return { kind: "created", incident: result.incident, isNew: result.isNew, card: reportReceivedCard(result.incident, { repeated: !result.isNew }) };
    } catch (error) {
      const banner = unavailableBanner(error);
      if (!banner) throw error;
      this.log.warn({ err: error }, "dependency unavailable during a report; report returned as typed");
      return { kind: "form", card: this.reportCard(report, undefined, banner, where) };
    }
  }

  /**
   * Saves an edit from the triage card; a concurrent change brings the form back with a banner,
   * nothing overwritten. `current` is the incident as the caller just read it.
   */
  async submitUpdate(current: Incident, revision: number, form: IncidentForm, actor: Actor): Promise<{ result: UpdateResult; card: AdaptiveCard }> {
    const editOf = (incident: Incident, rev: number) => ({ edit: { incident, revision: rev } });
    try {
      const result = await this.service.update(current.id, revision, form, actor);
      switch (result.kind) {
        case "updated":
          return { result, card: triageCard(result.incident, `Saved by ${actor.name}.`) };
        case "invalid":
          return { result, card: await this.formCard(actor, form, result.errors, undefined, editOf(current, revision)) };
        case "conflict": {
          const by = result.current.owner ? ` It is now assigned to ${result.current.owner.assignedTo}, status ${result.current.status}.` : ` Its status is now ${result.current.status}.`;
          const banner = `Someone changed ${incidentRef(result.current)} while you were editing, so your changes were not saved.${by} Your values are below: save again to apply them over the new version.`;
          return { result, card: await this.formCard(actor, form, undefined, banner, editOf(result.current, result.current.revision)) };
        }
        case "not-found":
          return { result, card: helpCard("That incident no longer exists.") };
        case "forbidden":
          return { result, card: triageCard(current, "Only SOC analysts can edit incidents.") };
      }
    } catch (error) {
      const banner = unavailableBanner(error);
      if (!banner) throw error;
      return {
        result: { kind: "not-found" },
        card: await this.formCard(actor, form, undefined, banner, editOf(current, revision)),
      };
    }
  }

  /** Validates and stores; on any problem the form comes back with everything typed kept. */
  async submit(form: IncidentForm, actor: Actor, entryPoint: EntryPoint, options: FormPlace & { role?: Role; evidence?: MessageEvidence } = {}): Promise<SubmitOutcome> {
    const { role, evidence, ...place } = options;
    try {
      const result = await this.service.create(form, actor, entryPoint, { ...(role && { role }), ...(evidence && { evidence }) });
      if (result.kind === "invalid") {
        return { kind: "form", card: await this.formCard(actor, form, result.errors, undefined, place) };
      }
      this.logCreated(result.incident, result.isNew);
      return {
        kind: "created",
        incident: result.incident,
        isNew: result.isNew,
        card: incidentCreatedCard(result.incident, { repeated: !result.isNew }),
      };
    } catch (error) {
      const banner = unavailableBanner(error);
      if (!banner) throw error;
      this.log.warn({ err: error }, "dependency unavailable during create; form returned with values kept");
      return { kind: "form", card: await this.formCard(actor, form, undefined, banner, place) };
    }
  }

  private logCreated(incident: Incident, isNew: boolean): void {
    this.log.info(
      { incidentId: incident.id, incidentNumber: incident.incidentNumber, isNew, entryPoint: incident.entryPoint },
      isNew ? "incident created" : "repeated submission answered with the existing incident",
    );
  }

  private async ownerChoices(actor: Actor, selected: string): Promise<Choice[]> {
    const me = await this.quietly(() => this.service.me(actor));
    const choices: Choice[] = [{ title: `Assign to me (${me?.displayName ?? actor.name})`, value: ASSIGN_TO_ME }];
    const id = selected.trim();
    if (id && id !== ASSIGN_TO_ME && isObjectId(id)) {
      // Shown again with the directory's name for it: never a name sent by the card.
      const entry = await this.quietly(() => this.service.owner(id));
      if (entry) choices.push({ title: ownerLabel(entry), value: id });
    }
    return choices;
  }

  private async tagChoices(selected: string): Promise<Choice[]> {
    const recent = (await this.quietly(() => this.service.topTags(TOP_TAGS))) ?? [];
    const chosen = parseTags(selected).tags ?? selected.split(",").map((t) => t.trim()).filter(Boolean);
    const all = [...chosen, ...recent.filter((t) => !chosen.some((c) => c.toLowerCase() === t.toLowerCase()))];
    return all.map((t) => ({ title: t, value: t }));
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

/** The triage channel's card for an incident: its essentials with Assign to me and Edit. */
export function triageCard(incident: Incident, note?: string): AdaptiveCard {
  const severity = incident.severity === "High" ? "attention" : "accent";
  return incidentCard(incident, {
    heading: `${incidentRef(incident)}: new ${incident.severity.toLowerCase()} incident`,
    headerStyle: incident.owner ? "emphasis" : severity,
    triageActions: true,
    ...(note && { note }),
  });
}

/** Words for a person when a dependency is down; undefined for errors that are bugs. */
export function unavailableBanner(error: unknown): string | undefined {
  if (error instanceof StoreUnavailableError) {
    return "The incident store is not answering, so nothing was saved. Everything you typed is still here: try Create incident again in a moment.";
  }
  if (error instanceof DirectoryUnavailableError) {
    return "The directory is not answering, so nothing was saved. Everything you typed is still here: try again in a moment.";
  }
  return undefined;
}
