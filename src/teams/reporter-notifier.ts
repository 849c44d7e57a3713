import { TurnContext, type Activity, type CloudAdapter, type ConversationReference } from "botbuilder";
import { z } from "zod";
import { backoffMs, retryAfterMs } from "../adapters/backoff";
import type { Contact, Incident, ReporterNotice } from "../incidents/model";
import { NO_MEASURES, type Measures } from "../incidents/ports";
import type { IncidentService, NoticeOutcome } from "../incidents/service";
import type { Logger } from "../log";
import type { AfterAnswer } from "./after-answer";
import { cardAttachment } from "./cards";
import { reporterUpdateCard } from "./reporter-cards";
import { sendInPersonalChat } from "./private-chat";
import { isTrustedServiceUrl } from "./service-urls";

/** Incidents looked at per sweep; each may hold several due notices. */
const SWEEP_BATCH = 10;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 15 * 60_000;

/**
 * How the bot reaches a reporter later, kept with their report: their 1:1 chat with the bot when
 * they reported there, else what it takes to open one (their Teams id, the tenant, the service URL).
 */
const chatAddress = z.object({
  serviceUrl: z.string().url(),
  channelId: z.string().min(1),
  tenantId: z.string().optional(),
  user: z.object({ id: z.string().min(1), aadObjectId: z.string().optional(), name: z.string().optional() }),
  bot: z.object({ id: z.string().min(1), name: z.string().optional() }),
  conversationId: z.string().optional(),
});
export type ChatAddress = z.infer<typeof chatAddress>;

/**
 * Whether `id` has the form of a bot's own 1:1 chat: "a:..." (what POST /v3/conversations answers, and
 * what a bot's personal chat carries). A chat between two people is "19:{user}_{user}@unq.gbl.spaces";
 * Teams calls both "personal".
 */
export function isBotChatId(id: unknown): id is string {
  return typeof id === "string" && /^a:[^/]+$/.test(id);
}

/**
 * Whether `activity` happened in the bot's own 1:1 chat with its sender, so that the chat can be kept
 * as where to reach them. A message extension's invoke carries the conversation the message is in,
 * which may be a chat between two people: never kept, whatever its id. When unsure, nothing is kept:
 * the bot opens (finds) its 1:1 chat with the person when it has something to tell them.
 */
function inBotChat(activity: Activity): boolean {
  const { conversation } = activity;
  if (conversation?.conversationType !== "personal" || conversation.isGroup) return false;
  if (activity.type === "invoke" && String(activity.name ?? "").startsWith("composeExtension/")) return false;
  return isBotChatId(conversation.id);
}

/** The address of the person who sent `activity`, or undefined when Teams did not say who they are. */
export function chatAddressOf(activity: Activity): ChatAddress | undefined {
  const { from, recipient, serviceUrl, channelId, conversation } = activity;
  if (!from?.id || !recipient?.id || !serviceUrl || !channelId) return undefined;
  const tenantId =
    conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id ?? undefined;
  return {
    serviceUrl,
    channelId,
    ...(typeof tenantId === "string" && { tenantId }),
    user: { id: from.id, ...(from.aadObjectId && { aadObjectId: from.aadObjectId }), ...(from.name && { name: from.name }) },
    bot: { id: recipient.id, ...(recipient.name && { name: recipient.name }) },
    ...(conversation && inBotChat(activity) && { conversationId: conversation.id }),
  };
}

/** Where `activity` happened, as botbuilder continues a conversation there (no person, no message id). */
export function conversationOf(activity: Activity): Record<string, unknown> {
  const reference: Partial<ConversationReference> = TurnContext.getConversationReference(activity);
  delete reference.activityId;
  delete reference.user;
  return JSON.parse(JSON.stringify(reference)) as Record<string, unknown>;
}

/**
 * Tells reporters what happened to their incident: each notice the service wrote with a change
 * (src/incidents/casework.ts) is sent in the reporter's 1:1 chat with the bot, after the answer,
 * and retried from the store until sent or known unreachable. Before sending, an instance claims
 * the notice in the store, so two instances never send it at once; a notice whose sender died
 * mid-send is sent again once the claim lapses (at least once).
 */
export class ReporterNotifier {
  private lastSweep = 0;

  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
    private readonly later: AfterAnswer,
    private readonly trustedServiceUrls: readonly string[],
    /** The bot's app id ("" in local mode), for opening a 1:1 chat. */
    private readonly botAppId: string,
    private readonly sweepEveryMs: number,
    private readonly measures: Measures = NO_MEASURES,
  ) {}

  /** After the answer: sends the notices due on `incident` (those a change just wrote). */
  deliver(context: TurnContext, incident: Incident): void {
    this.deliverVia(senderOf(context), incident);
  }

  /** As `deliver`, through `via` (the bot's own sender when no turn started it: a change made in Sentinel). */
  deliverVia(via: Sender, incident: Incident): void {
    const due = (incident.outbox ?? []).filter((n) => n.state === "pending");
    if (!due.length) return;
    this.later.start("notices to reporters", () => this.sendAll(via, incident.id, due));
  }

  /** On any turn, at most once per `sweepEveryMs` per instance: sends the notices that are due. Never throws. */
  sweep(context: TurnContext): void {
    const now = Date.now();
    if (now - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = now;
    const via = senderOf(context);
    this.later.start("notice sweep", async () => {
      for (const incident of await this.service.dueNotices(SWEEP_BATCH)) {
        await this.sendAll(
          via,
          incident.id,
          (incident.outbox ?? []).filter((n) => n.state === "pending"),
        );
      }
    });
  }

  private async sendAll(via: Sender, incidentId: string, notices: readonly ReporterNotice[]): Promise<void> {
    for (const notice of notices) await this.send(via, incidentId, notice.id);
  }

  /** Claims, sends and records one notice. Never throws. */
  private async send(via: Sender, incidentId: string, noticeId: string): Promise<void> {
    try {
      const claim = await this.service.claimNotice(incidentId, noticeId);
      if (!claim) return;
      const outcome = await this.post(via, claim.incident, claim.notice);
      const settled = await this.service.settleNotice(incidentId, noticeId, outcome);
      const where = { incidentId, notice: noticeId, attempts: settled?.attempts };
      this.measures.noticed("reporter", outcome.kind);
      if (outcome.kind === "sent") this.log.info(where, "told a reporter about their incident");
      else
        this.log.warn(
          { ...where, outcome: outcome.kind, reason: outcome.reason },
          "could not tell a reporter about their incident",
        );
    } catch (error) {
      // The store is down: the notice stays pending (its claim lapses) and the next sweep tries again.
      this.log.warn({ err: error, incidentId, notice: noticeId }, "could not send or record a notice to a reporter");
      this.measures.noticed("reporter", "failed");
    }
  }

  private async post(sender: Sender, incident: Incident, notice: ReporterNotice): Promise<NoticeOutcome> {
    const contact = (incident.contacts ?? []).find((c: Contact) => c.person === notice.to);
    const address = chatAddress.safeParse(contact?.address);
    if (!address.success) return { kind: "unreachable", reason: "the bot has no way to reach them (no chat address was kept)" };
    const to = address.data;
    if (!isTrustedServiceUrl(to.serviceUrl, this.trustedServiceUrls)) {
      return { kind: "unreachable", reason: "their chat's service URL is not a trusted host; nothing was sent there" };
    }
    const activity = { attachments: [cardAttachment(reporterUpdateCard(incident, notice))] };
    // An address kept by an older version may name a chat between two people: only the bot's own chat is used.
    if (isBotChatId(to.conversationId)) {
      try {
        await this.sendInChat(sender, to, to.conversationId, activity);
        return { kind: "sent" };
      } catch (error) {
        const outcome = outcomeOf(error, notice.attempts);
        // Anything but "Teams will not deliver there" (403, 404) is tried again in the same chat later.
        if (outcome.kind !== "unreachable") return outcome;
        const where = { incidentId: incident.id, notice: notice.id };
        this.log.info(where, "the reporter's kept chat refused a notice; opening their 1:1 chat");
      }
    }
    try {
      await this.openChat(sender, to, activity);
      return { kind: "sent" };
    } catch (error) {
      return outcomeOf(error, notice.attempts);
    }
  }

  private async sendInChat({ adapter, identity }: Sender, to: ChatAddress, conversationId: string, activity: Partial<Activity>) {
    const reference: ConversationReference = {
      channelId: to.channelId,
      serviceUrl: to.serviceUrl,
      bot: { ...to.bot, name: to.bot.name ?? "" },
      user: { ...to.user, name: to.user.name ?? "" },
      conversation: { id: conversationId, isGroup: false, conversationType: "personal", name: "", ...tenant(to) },
    };
    await adapter.continueConversationAsync(identity, reference, async (ctx) => {
      await ctx.sendActivity(activity);
    });
  }

  /** Opens (or finds: Teams answers the same chat for the same person) the bot's 1:1 chat with them, and sends there. */
  private openChat(via: Sender, to: ChatAddress, activity: Partial<Activity>): Promise<void> {
    return sendInPersonalChat(via, this.botAppId, to, activity);
  }
}

/** What sending outside a turn needs, read while the turn is still open (its context is revoked when it ends). */
export interface Sender {
  adapter: CloudAdapter;
  identity: Parameters<CloudAdapter["continueConversationAsync"]>[0];
}

export function senderOf(context: TurnContext): Sender {
  const adapter = context.adapter as CloudAdapter;
  return { adapter, identity: context.turnState.get<Sender["identity"]>(adapter.BotIdentityKey) };
}

function tenant(to: ChatAddress) {
  return to.tenantId ? { tenantId: to.tenantId } : {};
}

/**
 * What a failed send means. 403 and 404: Teams will not deliver to this person (the app is not
 * installed for them, they blocked it, the chat is gone): not retried. 429: after Retry-After.
 * Anything else: later, with backoff.
 */
export function outcomeOf(error: unknown, attempts: number): NoticeOutcome {
  const e = error as { statusCode?: unknown; response?: { headers?: { get?(name: string): string | undefined } } };
  const status = typeof e?.statusCode === "number" ? e.statusCode : undefined;
  const reason = status ? `Teams answered HTTP ${status}` : String((error as Error)?.message ?? error);
  if (status === 403 || status === 404) {
    return { kind: "unreachable", reason: `${reason}: the app is not installed for them, or they blocked it` };
  }
  const backoff = backoffMs(attempts, RETRY_BASE_MS, RETRY_MAX_MS);
  if (status === 429) {
    const asked = retryAfterMs(e.response?.headers?.get?.("retry-after") ?? null);
    return { kind: "retry", reason, retryAfterMs: asked !== undefined && asked > 0 ? Math.min(asked, RETRY_MAX_MS) : backoff };
  }
  return { kind: "retry", reason, retryAfterMs: backoff };
}
