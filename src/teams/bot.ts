import {
  type InvokeResponse,
  type MessagingExtensionAction,
  type MessagingExtensionActionResponse,
  type MessagingExtensionQuery,
  type MessagingExtensionResponse,
  TeamsActivityHandler,
  type TurnContext,
} from "botbuilder";
import { onCardAction, onSubmitFallback } from "./handlers/card-actions";
import { onText } from "./handlers/commands";
import { searchIncidents, openFromMessage, submitFromMessage } from "./handlers/message-extension";
import { onTypeahead } from "./handlers/typeahead";
import type { CloudAdapter } from "botbuilder";
import type { Incident } from "../incidents/model";
import type { Sender } from "./reporter-notifier";
import { Turn, type Services } from "./turn";

/**
 * Routes Teams activities to handlers, and does nothing else. Where each goes:
 * - a text message: handlers/commands.ts (`incident`, `triage here`, an employee's words, help)
 * - a card button (Action.Execute, or the Action.Submit fallback of older clients): the verb table
 *   in handlers/card-actions.ts
 * - typeahead (`application/search`): handlers/typeahead.ts
 * - the message extension (Create incident on a message, Find incident): handlers/message-extension.ts
 */
export class IncidentBot extends TeamsActivityHandler {
  /** How the bot sends on its own, for changes no turn brought (made in Microsoft Sentinel). */
  private own: Sender | undefined;

  constructor(private readonly s: Services) {
    super();
    this.onMessage(async (context, next) => {
      const turn = this.turn(context);
      const value: unknown = context.activity.value;
      if (isSubmitFallback(value)) await onSubmitFallback(this.s, turn, value);
      else await onText(this.s, turn);
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await super.run(context);
    this.s.triage.sweep(context);
    this.s.reporters.sweep(context);
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    switch (context.activity.name) {
      case "adaptiveCard/action":
        return onCardAction(this.s, this.turn(context));
      case "application/search":
        // Handled here rather than in onSearchInvoke: botbuilder answers 400 itself for an empty query.
        return onTypeahead(this.s, this.turn(context));
      default:
        return super.onInvokeActivity(context);
    }
  }

  protected override handleTeamsMessagingExtensionFetchTask(
    context: TurnContext,
    action: MessagingExtensionAction,
  ): Promise<MessagingExtensionActionResponse> {
    return openFromMessage(this.s, this.turn(context), action);
  }

  protected override handleTeamsMessagingExtensionSubmitAction(
    context: TurnContext,
    action: MessagingExtensionAction,
  ): Promise<MessagingExtensionActionResponse> {
    return submitFromMessage(this.s, this.turn(context), action);
  }

  protected override handleTeamsMessagingExtensionQuery(
    context: TurnContext,
    query: MessagingExtensionQuery,
  ): Promise<MessagingExtensionResponse> {
    return searchIncidents(this.s, this.turn(context), query);
  }

  /** The adapter the server runs, and the bot's app id ("" in local mode), for sending on its own. */
  attach(adapter: CloudAdapter, botAppId: string): void {
    this.own = { adapter, identity: botAppId };
  }

  /**
   * An incident changed without a turn (in Microsoft Sentinel, brought here by the mirror): its triage
   * card is redrawn and its reporters are told, as after a click.
   */
  changedElsewhere(incident: Incident): void {
    if (!this.own) return;
    this.s.triage.refreshVia(this.own, incident);
    this.s.triage.refreshConfirmationVia(this.own, incident);
    this.s.reporters.deliverVia(this.own, incident);
  }

  /** Resolves once the work started after answers (card updates, triage posts) has finished. */
  settled(): Promise<void> {
    return this.s.later.settled();
  }

  private turn(context: TurnContext): Turn {
    return new Turn(context, this.s.service);
  }
}

/** An older client's Action.Submit arrives as a message whose value names the verb. */
function isSubmitFallback(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && "verb" in value;
}
