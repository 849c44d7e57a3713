import { TurnContext, type Activity } from "botbuilder";
import type { Actor, Incident } from "../incidents/model";
import type { IncidentService, Role } from "../incidents/service";
import type { Viewer } from "../incidents/visibility";
import type { Logger } from "../log";
import type { AfterAnswer } from "./after-answer";
import type { FormFlow } from "./form-flow";
import { rateKey, type RateLimits } from "./rate-limit";
import { isShared } from "./shared-view";
import type { Requester, SubmissionTokens } from "./submission-tokens";
import type { ReporterNotifier } from "./reporter-notifier";
import type { TriageNotifier } from "./triage-notifier";

/** What every handler may use; built once, in src/app.ts. */
export interface Services {
  service: IncidentService;
  flow: FormFlow;
  limits: RateLimits;
  log: Logger;
  /** Work that goes on after the answer (card updates, triage posts); shutdown waits for it. */
  later: AfterAnswer;
  triage: TriageNotifier;
  /** Tells reporters what happened to their incidents (the outbox kept with each incident). */
  reporters: ReporterNotifier;
  /** Signs and checks the ids forms carry. */
  tokens: SubmissionTokens;
  /** The bot's app id ("" in local mode), for opening a person's 1:1 chat. */
  botAppId: string;
  /** Where the bot may post (src/teams/service-urls.ts). */
  trustedServiceUrls: readonly string[];
}

/** One activity, with what handlers ask of it: who is acting, their role (asked once), where. */
export class Turn {
  readonly activity: Activity;
  readonly actor: Actor;
  private viewer$: Promise<Viewer> | undefined;

  constructor(
    readonly context: TurnContext,
    private readonly service: IncidentService,
  ) {
    this.activity = context.activity;
    this.actor = actorOf(this.activity);
  }

  /** Who is looking (analyst? on the restricted-cases team?), asked of the directory at most once per activity. */
  viewer(): Promise<Viewer> {
    return (this.viewer$ ??= this.service.viewerOf(this.actor));
  }

  /** Analyst or employee. */
  async role(): Promise<Role> {
    return (await this.viewer()).analyst ? "analyst" : "employee";
  }

  /** The person and the conversation: whom a form shown in this turn is for. */
  get who(): Requester {
    return { actor: this.actor, conversationId: this.activity.conversation?.id ?? "", shared: this.shared };
  }

  /**
   * Whether the message this card action came from is the incident's own (the form it was created
   * from, or its triage post): only that message is updated for everyone. A `replyToId` naming any
   * other message is the client's word, and is ignored.
   */
  isOwnMessage(incident: Pick<Incident, "formMessageId" | "triage">): boolean {
    const id = this.activity.replyToId;
    return !!id && (id === incident.formMessageId || id === incident.triage?.messageId);
  }

  /** A channel or a group chat (anything but a 1:1 chat): what is posted here, everyone here reads. */
  get shared(): boolean {
    return isShared(this.activity.conversation);
  }

  /** Whom rate limits count this request against. */
  get rateKey(): string {
    return rateKey(this.activity);
  }

  /** The person's IANA time zone, when Teams said it. */
  get timeZone(): string | undefined {
    const fromEntity = (this.activity.entities ?? []).find((e) => e.type === "clientInfo") as { timezone?: unknown } | undefined;
    const tz = (this.activity as { localTimezone?: unknown }).localTimezone ?? fromEntity?.timezone;
    return typeof tz === "string" && tz.length < 64 ? tz : undefined;
  }

  /** What the person typed, without the bot's @mention. */
  get text(): string {
    return TurnContext.removeRecipientMention(this.activity) ?? this.activity.text ?? "";
  }
}

export function actorOf(activity: Activity): Actor {
  return {
    ...(activity.from?.aadObjectId && { objectId: activity.from.aadObjectId }),
    name: activity.from?.name || "Someone",
    ...(activity.from?.id && { teamsId: activity.from.id }),
  };
}
