import { randomUUID } from "node:crypto";
import { SubmissionTokens } from "../../src/teams/submission-tokens";

/**
 * Teams-shaped activities, as Teams sends them (see the payload samples the project was built from):
 * personal, group chat and channel conversations; message, adaptiveCard/action, application/search.
 */

export const TENANT = "72f988bf-0000-4000-8000-000000000001";

export interface Person {
  id: string;
  name: string;
  aadObjectId?: string;
}

/** In the sample directory, an analyst. */
export const ALEX: Person = { id: "29:1a2b3c-user-mri", name: "Alex Wilber", aadObjectId: "6f1c2d3e-0000-4000-8000-000000000020" };
/** In the sample directory, not an analyst. */
export const MEGAN: Person = { id: "29:4d5e6f-user-mri", name: "Megan Bowen", aadObjectId: "6f1c2d3e-0000-4000-8000-000000000031" };

/** In the sample directory, another analyst. */
export const LEE: Person = { id: "29:7g8h9i-user-mri", name: "Lee Gu", aadObjectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a04" };

/** In the sample directory, another employee (not an analyst). */
export const DIEGO: Person = { id: "29:diego-mri", name: "Diego Siciliani", aadObjectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a02" };

export type Where = "personal" | "groupChat" | "channel";

export interface ActivityOptions {
  from?: Person;
  where?: Where;
  replyToId?: string;
  /** The other person of a 1:1 chat between people (not the bot's chat): Teams says "personal" for it too. */
  chatWith?: Person;
}

function base(serviceUrl: string, o: ActivityOptions) {
  const where = o.where ?? "personal";
  const conversation = o.chatWith
    ? { conversationType: "personal", tenantId: TENANT, id: personToPersonChatId(o.from ?? ALEX, o.chatWith) }
    : where === "personal"
      ? { conversationType: "personal", tenantId: TENANT, id: "a:1xYzPersonalConversationId" }
      : where === "groupChat"
        ? { isGroup: true, conversationType: "groupChat", tenantId: TENANT, id: "19:groupchat-1@thread.v2" }
        : { isGroup: true, conversationType: "channel", tenantId: TENANT, id: "19:soc-triage@thread.tacv2;messageid=1732611112222" };
  return {
    channelId: "msteams",
    serviceUrl,
    timestamp: new Date().toISOString(),
    from: o.from ?? ALEX,
    conversation,
    recipient: { id: "28:bot-app-id", name: "Incident Bot" },
    locale: "en-US",
    channelData: {
      tenant: { id: TENANT },
      ...(where === "channel" && {
        teamsChannelId: "19:soc-triage@thread.tacv2",
        teamsTeamId: "19:team-general@thread.tacv2",
        channel: { id: "19:soc-triage@thread.tacv2" },
        team: { id: "19:team-general@thread.tacv2" },
      }),
    },
    ...(o.replyToId && { replyToId: o.replyToId }),
  };
}

export function message(serviceUrl: string, text: string, o: ActivityOptions = {}) {
  const mention = o.where && o.where !== "personal";
  return {
    ...base(serviceUrl, o),
    type: "message",
    id: `msg-${randomUUID()}`,
    text: mention ? `<at>Incident Bot</at> ${text}` : text,
    textFormat: "plain",
    entities: mention
      ? [{ type: "mention", mentioned: { id: "28:bot-app-id", name: "Incident Bot" }, text: "<at>Incident Bot</at>" }]
      : [{ type: "clientInfo", locale: "en-US", country: "US", platform: "Web", timezone: "Europe/London" }],
  };
}

/** What Teams sends when Action.Submit is clicked on a chat card: a message with the inputs as value. */
export function submitMessage(serviceUrl: string, value: Record<string, unknown>, o: ActivityOptions = {}) {
  const activity = { ...base(serviceUrl, o), type: "message", id: `msg-${randomUUID()}`, replyToId: o.replyToId ?? "card-message-1" };
  return { ...activity, value: issued(value, activity) };
}

export function execute(serviceUrl: string, verb: string, data: Record<string, unknown>, o: ActivityOptions = {}) {
  const activity = {
    ...base(serviceUrl, { replyToId: "card-message-1", ...o }),
    type: "invoke",
    name: "adaptiveCard/action",
    id: `f:invoke-${randomUUID()}`,
    channelData: { tenant: { id: TENANT }, source: { name: "message" } },
  };
  return { ...activity, value: { action: { type: "Action.Execute", id: "createIncident", verb, data: issued(data, activity) }, trigger: "manual" } };
}

/** The secret the test bots sign form ids with (SUBMISSION_SECRET in their environment). */
export const TEST_SUBMISSION_SECRET = "test-secret-for-signing-form-ids-0123456789";
const testTokens = new SubmissionTokens(Buffer.from(TEST_SUBMISSION_SECRET, "utf8"));

/** The token the bot puts on a form with this id shown to this person in this kind of conversation. */
export function tokenFor(submissionId: string, o: ActivityOptions = {}): string {
  return String(issued({ submissionId }, base("", o)).submissionToken);
}

/**
 * Form data a test wrote itself (not taken from a card the bot sent) carries no token: this adds the
 * one the bot would have put on the form it showed this person in this conversation. Data that has a
 * `submissionToken` key (a card's, or a forged one) is left as it is.
 */
function issued(data: Record<string, unknown>, activity: { from: Person; conversation: { id: string } }): Record<string, unknown> {
  if (!data || typeof data !== "object" || Array.isArray(data) || "submissionToken" in data || typeof data.submissionId !== "string") return data;
  const who = { actor: { name: activity.from.name, teamsId: activity.from.id, ...(activity.from.aadObjectId && { objectId: activity.from.aadObjectId }) }, conversationId: activity.conversation.id };
  return { ...data, submissionToken: testTokens.submission(data.submissionId, who) };
}

export function search(serviceUrl: string, dataset: string, queryText: string, o: ActivityOptions = {}) {
  return {
    ...base(serviceUrl, o),
    type: "invoke",
    name: "application/search",
    id: `f:search-${randomUUID()}`,
    value: { queryText, queryOptions: { skip: 0, top: 15 }, dataset, data: {} },
    localTimezone: "Europe/London",
  };
}

/** The message Teams hands a message extension (value.messagePayload). */
export function messagePayload(overrides: Record<string, unknown> = {}) {
  return {
    id: "1732600000001",
    replyToId: null,
    createdDateTime: "2026-11-26T02:14:00.000Z",
    lastModifiedDateTime: null,
    deleted: false,
    subject: null,
    summary: null,
    importance: "normal",
    locale: "en-us",
    linkToMessage: "https://teams.microsoft.com/l/message/19:facilities@thread.tacv2/1732600000001",
    from: {
      user: { userIdentityType: "aadUser", id: "6f1c2d3e-0000-4000-8000-000000000031", displayName: "Megan Bowen" },
      application: null,
      device: null,
      conversation: null,
    },
    body: {
      contentType: "html",
      content: "<p>Door 3 badge reader logged an entry for a <b>disabled</b> badge at 02:14.</p><p>Guard saw nobody. <a href=\"https://evil.example\">details</a><img src=x onerror=alert(1)></p>",
    },
    attachmentLayout: null,
    attachments: [],
    mentions: [],
    reactions: [],
    ...overrides,
  };
}

/**
 * Where a message extension is used: a channel's thread (the default), the bot's own 1:1 chat
 * (`where: "personal"`), or (`chatWith`) a 1:1 chat between two people.
 */
export type ExtensionOptions = ActivityOptions;

/** The id Teams gives a 1:1 chat between two people (the bot is not in it). */
export function personToPersonChatId(a: Person, b: Person): string {
  return `19:${a.aadObjectId}_${b.aadObjectId}@unq.gbl.spaces`;
}

function channelInvoke(serviceUrl: string, name: string, value: unknown, o: ExtensionOptions = {}) {
  const activity = base(serviceUrl, { where: "channel", ...o });
  const chat = { channelData: { tenant: { id: TENANT }, source: { name: "message" } } };
  const where = o.chatWith
    ? { ...chat, conversation: { conversationType: "personal", tenantId: TENANT, id: personToPersonChatId(activity.from, o.chatWith) } }
    : o.where === "personal"
      ? { ...chat, conversation: activity.conversation }
      : {
          conversation: { isGroup: true, conversationType: "channel", tenantId: TENANT, id: "19:facilities@thread.tacv2;messageid=1732600000001" },
          channelData: {
            channel: { id: "19:facilities@thread.tacv2" },
            team: { id: "19:team-general@thread.tacv2" },
            tenant: { id: TENANT },
            source: { name: "message" },
          },
        };
  return { ...activity, type: "invoke", name, id: `f:${randomUUID()}`, ...where, value };
}

export function fetchTaskFromMessage(serviceUrl: string, payload = messagePayload(), o: ExtensionOptions = {}) {
  return channelInvoke(serviceUrl, "composeExtension/fetchTask", {
    commandId: "createIncidentFromMessage",
    commandContext: "message",
    context: { theme: "default" },
    messagePayload: payload,
  }, o);
}

export function submitActionFromMessage(serviceUrl: string, data: Record<string, unknown>, o: ExtensionOptions & { payload?: unknown } = {}) {
  const value = {
    commandId: "createIncidentFromMessage",
    commandContext: "message",
    context: { theme: "default" },
    ...(o.payload !== undefined && { messagePayload: o.payload }),
  };
  const activity = channelInvoke(serviceUrl, "composeExtension/submitAction", value, o);
  return { ...activity, value: { ...value, data: issued(data, activity) } };
}

export function composeQuery(serviceUrl: string, text: string | undefined, o: ActivityOptions = {}) {
  return {
    ...base(serviceUrl, o),
    type: "invoke",
    name: "composeExtension/query",
    id: `f:${randomUUID()}`,
    value: {
      commandId: "findIncident",
      parameters: text === undefined ? [{ name: "initialRun", value: "true" }] : [{ name: "query", value: text }],
      queryOptions: { skip: 0, count: 25 },
    },
  };
}
