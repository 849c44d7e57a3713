import {
  type Activity,
  type InvokeResponse,
  TeamsActivityHandler,
  TurnContext,
} from "botbuilder";
import type { Actor } from "../incidents/model";
import type { IncidentService } from "../incidents/service";
import { readForm } from "../incidents/validation";
import type { Logger } from "../log";
import { cardAttachment, helpCard, type AdaptiveCard } from "./cards";
import { FormFlow, ownerLabel, unavailableBanner } from "./form-flow";
import { cardResponse, describeProblem, errorResponse, executeValue, searchResponse, searchValue } from "./invoke";
import { createLimitBanner, RateLimits, rateKey, searchLimitMessage } from "./rate-limit";

export const VERBS = { create: "incident.create", form: "incident.form" } as const;

/** Commands that open the form, after the @mention is stripped; case and a leading slash don't matter. */
const FORM_COMMANDS = new Set(["incident", "new incident", "create incident"]);

const TYPEAHEAD_MAX = 15;

export function actorOf(activity: Activity): Actor {
  return {
    ...(activity.from?.aadObjectId && { objectId: activity.from.aadObjectId }),
    name: activity.from?.name || "Someone",
    ...(activity.from?.id && { teamsId: activity.from.id }),
  };
}

/** Routes Teams activities to small handlers; all of them go through the same FormFlow. */
export class IncidentBot extends TeamsActivityHandler {
  private readonly flow: FormFlow;

  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
    private readonly limits: RateLimits = RateLimits.none(),
  ) {
    super();
    this.flow = new FormFlow(service, log);
    this.onMessage(async (context, next) => {
      await this.handleMessage(context);
      await next();
    });
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
    if (FORM_COMMANDS.has(command)) {
      await context.sendActivity({ attachments: [cardAttachment(await this.flow.formCard(actorOf(activity)))] });
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
    const { verb, data } = parsed.data.action;
    const actor = actorOf(context.activity);
    switch (verb) {
      case VERBS.form:
        return cardResponse(await this.flow.formCard(actor));
      case VERBS.create: {
        const form = readForm(data ?? {});
        if (!form.ok) return errorResponse(400, "BadRequest", form.problem);
        const wait = this.limits.creates.take(rateKey(context.activity));
        if (wait) return cardResponse(await this.flow.formCard(actor, form.form, undefined, createLimitBanner(this.limits.creates.perMinute, wait)));
        const outcome = await this.flow.submit(form.form, actor, "form");
        // The clicker sees the answer at once; everyone else in the conversation through the updated message.
        if (outcome.kind === "created") await this.replaceCardForEveryone(context, outcome.card);
        return cardResponse(outcome.card);
      }
      default:
        return errorResponse(400, "BadRequest", `Unknown action "${verb.slice(0, 60)}". This bot knows ${Object.values(VERBS).join(", ")}.`);
    }
  }

  private async handleSubmitFallback(context: TurnContext, value: Record<string, unknown>): Promise<void> {
    const actor = actorOf(context.activity);
    let card: AdaptiveCard;
    if (value.verb === VERBS.form) {
      card = await this.flow.formCard(actor);
      await context.sendActivity({ attachments: [cardAttachment(card)] });
      return;
    }
    if (value.verb !== VERBS.create) {
      await context.sendActivity("That button is not one this bot knows. Say incident to open a new form.");
      return;
    }
    const form = readForm(value);
    if (!form.ok) {
      await context.sendActivity(`That form could not be read: ${form.problem} Say incident to open a new form.`);
      return;
    }
    const wait = this.limits.creates.take(rateKey(context.activity));
    card = wait
      ? await this.flow.formCard(actor, form.form, undefined, createLimitBanner(this.limits.creates.perMinute, wait))
      : (await this.flow.submit(form.form, actor, "form")).card;
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
