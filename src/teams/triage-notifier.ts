import type { ConversationReference, TurnContext } from "botbuilder";
import type { Incident } from "../incidents/model";
import { NO_MEASURES, type Measures } from "../incidents/ports";
import type { IncidentService } from "../incidents/service";
import type { Logger } from "../log";
import type { AfterAnswer } from "./after-answer";
import { senderOf, type Sender } from "./reporter-notifier";
import { isTrustedServiceUrl } from "./service-urls";
import { cardAttachment } from "./cards";
import { confirmationCard, triagePostCard } from "./shared-view";

/** Notices not posted are retried once they have been idle this long. */
const RETRY_IDLE_MS = 60_000;
const SWEEP_BATCH = 10;

/**
 * Posts each new incident to the SOC's triage channel. A failed post never fails the create: the
 * incident carries the notice's state (written with it, like an outbox), and notices not posted are
 * retried. Delivery is at least once: an instance that dies between posting and recording may post twice.
 */
export class TriageNotifier {
  private lastSweep = 0;

  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
    private readonly later: AfterAnswer,
    /** Where the bot may post (src/teams/service-urls.ts): a stored channel elsewhere gets nothing. */
    private readonly trustedServiceUrls: readonly string[],
    /** How often, at most, this instance looks for posts to retry (NOTICE_SWEEP_SECONDS). */
    private readonly sweepEveryMs: number,
    private readonly measures: Measures = NO_MEASURES,
  ) {}

  /** After the answer: posts the card for a new incident in the triage channel. */
  announce(context: TurnContext, incident: Incident): void {
    const via = senderOf(context);
    this.later.start("triage post", () => this.notify(via, incident));
  }

  /** Posts the card for `incident` in the triage channel and records the outcome. Never throws. */
  private async notify({ adapter, identity }: Sender, incident: Incident): Promise<void> {
    if (!incident.triage || incident.triage.state === "posted") return;
    const attempts = incident.triage.attempts + 1;
    try {
      const channel = await this.service.triageChannel();
      if (!channel) return;
      if (!isTrustedServiceUrl(channel.reference.serviceUrl, this.trustedServiceUrls)) {
        throw new Error("the triage channel's service URL is not a trusted host; nothing was sent there");
      }
      let messageId: string | undefined;
      await adapter.continueConversationAsync(identity, channel.reference, async (ctx) => {
        // A restricted incident is announced as a line only; the restricted-cases team opens it.
        const card = triagePostCard(incident);
        messageId = (await ctx.sendActivity({ attachments: [cardAttachment(card)] }))?.id;
      });
      await this.service.recordNotice(incident.id, { state: "posted", attempts, ...(messageId && { messageId }) });
      this.log.info({ incidentId: incident.id, attempts }, "posted to the triage channel");
      this.measures.noticed("triage", "sent");
    } catch (error) {
      this.log.warn({ err: error, incidentId: incident.id, attempts }, "could not post to the triage channel; will retry");
      this.measures.noticed("triage", "retry");
      try {
        await this.service.recordNotice(incident.id, {
          state: "failed",
          attempts,
          lastError: String((error as Error)?.message ?? error).slice(0, 300),
        });
      } catch (recordError) {
        this.log.warn({ err: recordError, incidentId: incident.id }, "could not record the failed notice; it stays pending");
      }
    }
  }

  /**
   * After the answer: redraws the incident's card in the triage channel (a reporter answered, so the
   * analysts see it there). Best effort: a failure is logged; the card is right again on the next click.
   */
  refresh(context: TurnContext, incident: Incident): void {
    this.refreshVia(senderOf(context), incident);
  }

  /**
   * After a click changed `before` into `after`: the incident's own messages the click did not update
   * are redrawn as their conversations may see them now: the triage post, and the analyst's
   * confirmation when the change restricted the incident or lifted the restriction.
   */
  changed(context: TurnContext, before: Incident, after: Incident): void {
    const clicked = context.activity.replyToId;
    const via = senderOf(context);
    if (clicked !== after.triage?.messageId) this.refreshVia(via, after, before);
    if (clicked !== after.formMessageId && before.restricted !== after.restricted) this.confirmationVia(via, after, before);
  }

  /**
   * As `refresh`, through `via` (the bot's own sender when no turn started it: a change made in Sentinel).
   * What the channel sees is decided from the state after the change and, when given, before it.
   */
  refreshVia({ adapter, identity }: Sender, incident: Incident, before?: Incident): void {
    const messageId = incident.triage?.state === "posted" ? incident.triage.messageId : undefined;
    if (!messageId) return;
    this.later.start("triage card update", async () => {
      const channel = await this.service.triageChannel();
      if (!channel || !isTrustedServiceUrl(channel.reference.serviceUrl, this.trustedServiceUrls)) return;
      await adapter.continueConversationAsync(identity, channel.reference, async (ctx) => {
        const card = triagePostCard(incident, before);
        await ctx.updateActivity({ type: "message", id: messageId, attachments: [cardAttachment(card)] });
      });
    });
  }

  /**
   * Redraws the analyst's confirmation card (the message their form was in) after a change made in
   * Sentinel (its number, once known). A restricted incident's stays its line.
   */
  refreshConfirmationVia(via: Sender, incident: Incident): void {
    if (!incident.restricted) this.confirmationVia(via, incident);
  }

  /** Redraws the confirmation as its conversation may see it (src/teams/shared-view.ts). */
  private confirmationVia({ adapter, identity }: Sender, incident: Incident, before?: Incident): void {
    const reference = incident.formConversation as Partial<ConversationReference> | undefined;
    const messageId = incident.formMessageId;
    if (!reference || !messageId || incident.entryPoint !== "form") return;
    if (!isTrustedServiceUrl(reference.serviceUrl, this.trustedServiceUrls)) return;
    const card = confirmationCard(incident, before);
    this.later.start("confirmation card update", () =>
      adapter.continueConversationAsync(identity, reference, async (ctx) => {
        await ctx.updateActivity({ type: "message", id: messageId, attachments: [cardAttachment(card)] });
      }),
    );
  }

  /** On any turn, at most once per `sweepEveryMs` per instance: retries posts that failed a minute ago or more. Never throws. */
  sweep(context: TurnContext): void {
    const now = Date.now();
    if (now - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = now;
    const via = senderOf(context);
    this.later.start("triage retry sweep", async () => {
      for (const incident of await this.service.unsentNotices(RETRY_IDLE_MS, SWEEP_BATCH)) await this.notify(via, incident);
    });
  }
}
