import {
  type Activity,
  type InvokeResponse,
  type MessagingExtensionAction,
  type MessagingExtensionActionResponse,
  type MessagingExtensionQuery,
  type MessagingExtensionResponse,
  TeamsActivityHandler,
  TurnContext,
} from "botbuilder";
import { z } from "zod";
import type { Actor, Incident, MessageEvidence } from "../incidents/model";
import { incidentRef } from "../incidents/model";
import { readReport, suggestTitle } from "../incidents/report";
import type { IncidentService, Role } from "../incidents/service";
import { readForm } from "../incidents/validation";
import type { Logger } from "../log";
import { cardAttachment, helpCard, incidentCard, type AdaptiveCard } from "./cards";
import { emptyForm, emptyReport, FormFlow, formOf, ownerLabel, triageCard, unavailableBanner, type SubmitOutcome } from "./form-flow";
import { cardResponse, describeProblem, errorResponse, executeValue, searchResponse, searchValue } from "./invoke";
import { createLimitBanner, RateLimits, rateKey, searchLimitMessage } from "./rate-limit";
import { evidenceData, messageIncidentId, messagePayload, readMessage } from "./message-source";
import { TriageNotifier } from "./triage";

export const VERBS = {
  create: "incident.create",
  form: "incident.form",
  report: "report.create",
  update: "incident.update",
  assign: "triage.assign",
  edit: "triage.edit",
  view: "triage.view",
} as const;

/** The message extension's commands, as in manifest/manifest.json. */
export const COMMANDS = { fromMessage: "createIncidentFromMessage", find: "findIncident" } as const;

/** Commands that open the form, after the @mention is stripped; case and a leading slash don't matter. */
const FORM_COMMANDS = new Set(["incident", "new incident", "create incident"]);
const TRIAGE_COMMANDS = new Set(["triage here", "set triage channel"]);

const TYPEAHEAD_MAX = 15;
const SEARCH_RESULTS_MAX = 25;
/** Teams gives message-extension invokes 5 s; posting a confirmation must leave room to answer. */
const POST_BUDGET_MS = 2500;

const incidentRefData = z.object({ incidentId: z.string().min(1).max(100), revision: z.coerce.number().int().min(1).optional() });

export function actorOf(activity: Activity): Actor {
  return {
    ...(activity.from?.aadObjectId && { objectId: activity.from.aadObjectId }),
    name: activity.from?.name || "Someone",
    ...(activity.from?.id && { teamsId: activity.from.id }),
  };
}

function timeZoneOf(activity: Activity): string | undefined {
  const fromEntity = (activity.entities ?? []).find((e) => e.type === "clientInfo") as { timezone?: unknown } | undefined;
  const tz = (activity as { localTimezone?: unknown }).localTimezone ?? fromEntity?.timezone;
  return typeof tz === "string" && tz.length < 64 ? tz : undefined;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Routes Teams activities to small handlers; every entry point goes through the same FormFlow. */
export class IncidentBot extends TeamsActivityHandler {
  private readonly flow: FormFlow;
  private readonly triage: TriageNotifier;
  /** Work started by afterAnswer and not yet finished. */
  private readonly afterAnswers = new Set<Promise<unknown>>();

  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
    private readonly limits: RateLimits = RateLimits.none(),
  ) {
    super();
    this.flow = new FormFlow(service, log);
    this.triage = new TriageNotifier(service, log);
    this.onMessage(async (context, next) => {
      await this.handleMessage(context);
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    this.triage.sweep(context);
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    switch (context.activity.name) {
      case "adaptiveCard/action":
        return this.handleCardAction(context);
      case "application/search":
        // Handled here rather than in onSearchInvoke: botbuilder answers 400 itself for an empty query.
        return this.handleSearch(context);
      default:
        return super.onInvokeActivity(context);
    }
  }

  private async handleMessage(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const value: unknown = activity.value;
    if (value && typeof value === "object" && "verb" in value) {
      // Action.Submit fallback from an older client: answer by updating the card's message.
      await this.handleSubmitFallback(context, value);
      return;
    }
    const text = TurnContext.removeRecipientMention(activity) ?? activity.text ?? "";
    const command = text.trim().replace(/^\//, "").replace(/\s+/g, " ").toLowerCase();
    const actor = actorOf(activity);
    if (FORM_COMMANDS.has(command)) {
      const role = await this.roleOf(actor);
      await context.sendActivity({ attachments: [cardAttachment(await this.flow.formFor(role, actor))] });
      return;
    }
    if (TRIAGE_COMMANDS.has(command)) {
      await context.sendActivity(await this.registerTriage(context, actor));
      return;
    }
    const personal = activity.conversation?.conversationType === "personal";
    if (personal && command && command !== "help") {
      // An employee telling the bot what they saw: the short report, prefilled from their words.
      const words = text.trim().slice(0, 5000);
      const report = emptyReport({ title: suggestTitle(words), whatHappened: words });
      await context.sendActivity({ attachments: [cardAttachment(this.flow.reportCard(report))] });
      return;
    }
    const hint = command === "help" || command === "" ? "" : "Say incident to open the form, or use the button below.";
    await context.sendActivity({ attachments: [cardAttachment(helpCard(hint))] });
  }

  private async handleCardAction(context: TurnContext): Promise<InvokeResponse> {
    const parsed = executeValue.safeParse(context.activity.value);
    if (!parsed.success) {
      return errorResponse(400, "BadRequest", `This card action can't be read: ${describeProblem(parsed.error)}.`);
    }
    const { verb, data = {} } = parsed.data.action;
    const actor = actorOf(context.activity);
    switch (verb) {
      case VERBS.form:
        return cardResponse(await this.flow.formFor(await this.roleOf(actor), actor));
      case VERBS.create:
      case VERBS.report: {
        const outcome = await this.submitAny(context, verb, data);
        if ("problem" in outcome) return errorResponse(400, "BadRequest", outcome.problem);
        // The clicker sees the answer at once; everyone else in the conversation through the updated message.
        if (outcome.kind === "created") this.afterAnswer(() => this.replaceCardForEveryone(context, outcome.card));
        return cardResponse(outcome.card);
      }
      case VERBS.assign:
      case VERBS.edit:
      case VERBS.view:
      case VERBS.update: {
        const card = await this.triageAction(context, verb, data, actor);
        return "problem" in card ? errorResponse(400, "BadRequest", card.problem) : cardResponse(card.card);
      }
      default:
        return errorResponse(400, "BadRequest", `Unknown action "${verb.slice(0, 60)}". This bot knows ${Object.values(VERBS).join(", ")}.`);
    }
  }

  /** Creates from the full form or from an employee's report; the role decides what a person may set. */
  private async submitAny(
    context: TurnContext,
    verb: string,
    data: Record<string, unknown>,
    place: { mode?: "dialog"; evidence?: MessageEvidence; evidenceData?: unknown } = {},
  ): Promise<SubmitOutcome | { problem: string }> {
    const actor = actorOf(context.activity);
    let outcome: SubmitOutcome;
    if (verb === VERBS.report) {
      const report = readReport(data);
      if (!report.ok) return { problem: report.problem };
      const limited = this.overCreateLimit(context);
      if (limited) return { kind: "form", card: this.flow.reportCard(report.report, undefined, limited, place) };
      outcome = await this.flow.submitReport(report.report, actor, timeZoneOf(context.activity), place);
    } else {
      const form = readForm(data);
      if (!form.ok) return { problem: form.problem };
      const limited = this.overCreateLimit(context);
      if (limited) return { kind: "form", card: await this.flow.formCard(actor, form.form, undefined, limited, place) };
      let role: Role;
      try {
        role = await this.roleOf(actor);
      } catch (error) {
        // The directory decides what this person may set; while it is down the form comes back as typed.
        const banner = unavailableBanner(error);
        if (!banner) throw error;
        this.log.warn({ err: error }, "directory unavailable while checking the role; form returned with values kept");
        return { kind: "form", card: await this.flow.formCard(actor, form.form, undefined, banner, place) };
      }
      const entryPoint = place.evidence ? "message-extension" : "form";
      outcome = await this.flow.submit(form.form, actor, entryPoint, { role, ...place });
    }
    if (outcome.kind === "created" && outcome.isNew) void this.triage.notify(context, outcome.incident);
    return outcome;
  }

  private async triageAction(
    context: TurnContext,
    verb: string,
    data: Record<string, unknown>,
    actor: Actor,
  ): Promise<{ card: AdaptiveCard } | { problem: string }> {
    const ref = incidentRefData.safeParse(data);
    if (!ref.success) return { problem: `This card action can't be read: ${describeProblem(ref.error)}.` };
    const { incidentId, revision } = ref.data;
    const incident = await this.service.get(incidentId);
    if (!incident) return { card: helpCard("That incident no longer exists.") };
    switch (verb) {
      case VERBS.view:
        return { card: triageCard(incident) };
      case VERBS.edit:
        if ((await this.roleOf(actor)) !== "analyst") return { card: triageCard(incident, "Only SOC analysts can edit incidents.") };
        return { card: await this.flow.formCard(actor, formOf(incident), undefined, undefined, { edit: { incident, revision: incident.revision } }) };
      case VERBS.assign: {
        const result = await this.service.assignToMe(incidentId, revision ?? incident.revision, actor);
        let card: AdaptiveCard;
        switch (result.kind) {
          case "updated":
            card = triageCard(result.incident, `Assigned to ${result.incident.owner?.assignedTo ?? actor.name} by ${actor.name}.`);
            this.afterAnswer(() => this.replaceCardForEveryone(context, card));
            return { card };
          case "conflict":
            return {
              card: triageCard(
                result.current,
                `This incident changed before your click${result.current.owner ? `: it is now assigned to ${result.current.owner.assignedTo}` : ""}. Nothing was overwritten; click again if you still want it.`,
              ),
            };
          case "forbidden":
            return { card: triageCard(incident, "Only SOC analysts can take incidents.") };
          case "invalid":
            return { card: triageCard(incident, result.errors.owner ?? "Could not assign this incident.") };
          case "not-found":
            return { card: helpCard("That incident no longer exists.") };
        }
        break;
      }
      case VERBS.update: {
        const form = readForm({ ...data, submissionId: incidentId });
        if (!form.ok) return { problem: form.problem };
        if (revision === undefined) return { problem: "revision: the edit form's revision is missing." };
        const { result, card } = await this.flow.submitUpdate(incident, revision, form.form, actor);
        if (result.kind === "updated") this.afterAnswer(() => this.replaceCardForEveryone(context, card));
        return { card };
      }
    }
    return { problem: `Unknown action "${verb}".` };
  }

  private async handleSubmitFallback(context: TurnContext, value: Record<string, unknown>): Promise<void> {
    const actor = actorOf(context.activity);
    const verb = typeof value.verb === "string" ? value.verb : "";
    let card: AdaptiveCard;
    if (verb === VERBS.form) {
      card = await this.flow.formFor(await this.roleOf(actor), actor);
      await context.sendActivity({ attachments: [cardAttachment(card)] });
      return;
    }
    if (verb === VERBS.create || verb === VERBS.report) {
      const outcome = await this.submitAny(context, verb, value);
      if ("problem" in outcome) {
        await context.sendActivity(`That form could not be read: ${outcome.problem} Say incident to open a new form.`);
        return;
      }
      card = outcome.card;
    } else if (verb === VERBS.assign || verb === VERBS.edit || verb === VERBS.view || verb === VERBS.update) {
      const outcome = await this.triageAction(context, verb, value, actor);
      if ("problem" in outcome) {
        await context.sendActivity(`That card action could not be read: ${outcome.problem}`);
        return;
      }
      card = outcome.card;
    } else {
      await context.sendActivity("That button is not one this bot knows. Say incident to open a new form.");
      return;
    }
    if (!(await this.replaceCardForEveryone(context, card))) {
      await context.sendActivity({ attachments: [cardAttachment(card)] });
    }
  }

  private async handleSearch(context: TurnContext): Promise<InvokeResponse> {
    const parsed = searchValue.safeParse(context.activity.value);
    if (!parsed.success) {
      return errorResponse(400, "BadRequest", `This search can't be read: ${describeProblem(parsed.error)}.`);
    }
    const wait = this.limits.searches.take(rateKey(context.activity));
    if (wait) return errorResponse(429, "TooManyRequests", searchLimitMessage(wait));
    const { dataset, queryText, queryOptions } = parsed.data;
    const top = Math.min(queryOptions?.top ?? TYPEAHEAD_MAX, TYPEAHEAD_MAX);
    try {
      switch (dataset) {
        case "owners": {
          const entries = await this.service.findOwners(queryText, top);
          return searchResponse(entries.map((e) => ({ title: ownerLabel(e), value: e.objectId })));
        }
        case "tags": {
          const tags = await this.service.suggestTags(queryText, top);
          return searchResponse(tags.map((t) => ({ title: t, value: t })));
        }
        default:
          return errorResponse(400, "BadRequest", `Unknown dataset "${dataset.slice(0, 60)}". This bot answers owners and tags.`);
      }
    } catch (error) {
      if (!unavailableBanner(error)) throw error;
      this.log.warn({ err: error, dataset }, "typeahead dependency unavailable; answering with no results");
      return searchResponse([]);
    }
  }

  /** "Create incident" on a message: the form by role, prefilled from the message; or the incident it already made. */
  protected override async handleTeamsMessagingExtensionFetchTask(
    context: TurnContext,
    action: MessagingExtensionAction,
  ): Promise<MessagingExtensionActionResponse> {
    if (action.commandId !== COMMANDS.fromMessage) return taskMessage(`Unknown command "${String(action.commandId).slice(0, 60)}".`);
    const payload = messagePayload.safeParse(action.messagePayload);
    if (!payload.success) return taskMessage("Teams did not send the message to report. Try again from the message's menu.");
    const source = readMessage(payload.data);
    const id = messageIncidentId(this.service.workspaceId, context.activity.conversation?.id ?? "", payload.data.id);
    const actor = actorOf(context.activity);
    const [existing, role] = await Promise.all([this.service.get(id), this.roleOf(actor)]);
    if (existing) {
      return taskCard(
        `Already reported as ${incidentRef(existing)}`,
        incidentCard(existing, { heading: `This message was already reported as ${incidentRef(existing)}`, headerStyle: "accent" }),
      );
    }
    const place = { mode: "dialog" as const, evidenceData: source.evidence };
    const card =
      role === "analyst"
        ? await this.flow.formCard(actor, { ...emptyForm(), submissionId: id, title: source.title, description: source.text }, undefined, undefined, place)
        : this.flow.reportCard(emptyReport({ submissionId: id, title: source.title, whatHappened: source.text }), undefined, undefined, place);
    return taskCard(role === "analyst" ? "Create incident" : "Report suspicious activity", card);
  }

  /** The dialog's submit: errors come back in the dialog; success closes it and posts the confirmation. */
  protected override async handleTeamsMessagingExtensionSubmitAction(
    context: TurnContext,
    action: MessagingExtensionAction,
  ): Promise<MessagingExtensionActionResponse> {
    const data = (action.data ?? {}) as Record<string, unknown>;
    const verb = data.verb === VERBS.report ? VERBS.report : VERBS.create;
    const fromPayload = messagePayload.safeParse(action.messagePayload);
    const carried = evidenceData.safeParse(data.evidence);
    const evidence = fromPayload.success ? readMessage(fromPayload.data).evidence : carried.success ? carried.data : undefined;
    if (!evidence) return taskMessage("This dialog lost track of the message it was opened on. Close it and use Create incident on the message again.");
    const outcome = await this.submitAny(context, verb, data, { mode: "dialog", evidence, evidenceData: evidence });
    if ("problem" in outcome) return taskMessage(`That form could not be read: ${outcome.problem}`);
    if (outcome.kind === "form") return taskCard(verb === VERBS.report ? "Report suspicious activity" : "Create incident", outcome.card);
    const ref = incidentRef(outcome.incident);
    if (!outcome.isNew) return taskMessage(`This message was already reported as ${ref}.`);
    try {
      await withTimeout(context.sendActivity({ attachments: [cardAttachment(outcome.card)] }), POST_BUDGET_MS);
      return {};
    } catch (error) {
      this.log.warn({ err: error, incidentId: outcome.incident.id }, "could not post the confirmation in the conversation");
      return taskMessage(`${ref} was created. I could not post the confirmation in this conversation (the bot may not be added here).`);
    }
  }

  /** "Find incident" in the compose box: by number, words of the title or a tag; recent ones on open. */
  protected override async handleTeamsMessagingExtensionQuery(
    context: TurnContext,
    query: MessagingExtensionQuery,
  ): Promise<MessagingExtensionResponse> {
    if (query.commandId !== COMMANDS.find) return { composeExtension: { type: "message", text: `Unknown command "${String(query.commandId).slice(0, 60)}".` } };
    const wait = this.limits.searches.take(rateKey(context.activity));
    if (wait) return { composeExtension: { type: "message", text: searchLimitMessage(wait) } };
    const param = (query.parameters ?? []).find((p) => p.name !== "initialRun");
    const text = typeof param?.value === "string" ? param.value : "";
    const count = Math.min(Math.max(Number(query.queryOptions?.count) || SEARCH_RESULTS_MAX, 1), SEARCH_RESULTS_MAX);
    let incidents: Incident[];
    try {
      incidents = await this.service.search(text, count);
    } catch (error) {
      if (!unavailableBanner(error)) throw error;
      return { composeExtension: { type: "message", text: "The incident store is not answering. Try again in a moment." } };
    }
    return {
      composeExtension: {
        type: "result",
        attachmentLayout: "list",
        attachments: incidents.map((incident) => ({
          ...cardAttachment(incidentCard(incident, { heading: `${incidentRef(incident)} · ${incident.severity} · ${incident.status}`, headerStyle: "emphasis" })),
          preview: {
            contentType: "application/vnd.microsoft.card.thumbnail",
            content: {
              title: `${incidentRef(incident)}: ${incident.title}`.slice(0, 120),
              text: `${incident.severity} · ${incident.status} · ${incident.owner?.assignedTo ?? "Unassigned"}${incident.labels.length ? ` · ${incident.labels.map((l) => l.labelName).join(", ")}` : ""}`.slice(0, 200),
            },
          },
        })),
      },
    };
  }

  private async registerTriage(context: TurnContext, actor: Actor): Promise<string> {
    const activity = context.activity;
    const channelId = (activity.channelData as { channel?: { id?: unknown } } | undefined)?.channel?.id;
    if (activity.conversation?.conversationType !== "channel" || typeof channelId !== "string") {
      return "Say \"triage here\" in the team channel where the SOC should see new incidents.";
    }
    const reference = TurnContext.getConversationReference(activity);
    // A new post in the channel for each incident: the channel itself, not this message's thread.
    reference.conversation = { ...reference.conversation!, id: channelId };
    delete reference.activityId;
    const ok = await this.service.setTriageChannel(
      { conversationId: channelId, setBy: actor, setUtc: new Date().toISOString(), reference: reference },
      actor,
    );
    return ok
      ? "Done: every new incident will be posted in this channel, with Assign to me and Edit."
      : "Only SOC analysts can choose the triage channel.";
  }

  /** The banner for a create over the person's rate limit (the form comes back as typed); undefined when allowed. */
  private overCreateLimit(context: TurnContext): string | undefined {
    const wait = this.limits.creates.take(rateKey(context.activity));
    return wait ? createLimitBanner(this.limits.creates.perMinute, wait) : undefined;
  }

  private roleOf(actor: Actor): Promise<Role> {
    return this.service.roleOf(actor);
  }

  /**
   * Work that need not hold up the person's answer: it starts now and finishes after the invoke is
   * answered (the card update for everyone is a round trip to the Bot Connector). Never throws.
   */
  private afterAnswer(work: () => Promise<unknown>): void {
    const running: Promise<unknown> = work()
      .catch((error: unknown) => this.log.warn({ err: error }, "work after the answer failed"))
      .finally(() => this.afterAnswers.delete(running));
    this.afterAnswers.add(running);
  }

  /** Resolves once all work started after answers has finished, so a stop does not cut it off. */
  async settled(): Promise<void> {
    while (this.afterAnswers.size > 0) await Promise.allSettled([...this.afterAnswers]);
  }

  /** Updates the message that holds the card, so everyone sees the result. False when there is none or it failed. */
  private async replaceCardForEveryone(context: TurnContext, card: AdaptiveCard): Promise<boolean> {
    const id = context.activity.replyToId;
    if (!id) return false;
    try {
      await context.updateActivity({ type: "message", id, attachments: [cardAttachment(card)] });
      return true;
    } catch (error) {
      this.log.warn({ err: error }, "could not update the card message for everyone; the person who clicked still sees the result");
      return false;
    }
  }
}

function taskCard(title: string, card: AdaptiveCard): MessagingExtensionActionResponse {
  return { task: { type: "continue", value: { title, width: "large", height: "large", card: cardAttachment(card) } } };
}

function taskMessage(text: string): MessagingExtensionActionResponse {
  return { task: { type: "message", value: text } };
}
