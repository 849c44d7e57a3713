import { randomUUID } from "node:crypto";
import type { Incident } from "../../src/incidents/model";
import { AfterAnswer } from "../../src/teams/after-answer";
import { VERBS } from "../../src/teams/verbs";
import type { TestBot } from "./bot";
import { cardOf, values } from "./cards";
import type { FakeConnector } from "./connector";
import type { FakeSentinel } from "./fake-sentinel";
import {
  ALEX,
  DIEGO,
  LEE,
  MEGAN,
  TENANT,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  submitActionFromMessage,
  submitMessage,
  type Person,
} from "./teams";
import { until } from "./until";

/*
 * Who sees which message the bot sent or updated, and whether any of them shows an incident's words
 * to someone who may not read them. Every conversation is modelled with its members; every word a
 * test types is a unique marker, so a leak is a substring search over what the fake connector holds
 * (the latest version of each message: what people see afterwards).
 */

/** Signed in to the tenant but unknown to the directory (a guest). */
export const GUEST: Person = { id: "29:guest-mri", name: "A guest", aadObjectId: "0d0d0d0d-0000-4000-8000-00000000beef" };

/** The audiences: a restricted-team analyst, an analyst off that team, the reporter, another employee, a guest. */
export type Who = "alex" | "lee" | "megan" | "diego" | "guest";
export const PEOPLE: Record<Who, Person> = { alex: ALEX, lee: LEE, megan: MEGAN, diego: DIEGO, guest: GUEST };
export const EVERYONE = Object.keys(PEOPLE) as Who[];
/** As the sample directory has them (data/directory.json). */
const ROLE: Record<Who, { analyst: boolean; restrictedTeam: boolean }> = {
  alex: { analyst: true, restrictedTeam: true },
  lee: { analyst: true, restrictedTeam: false },
  megan: { analyst: false, restrictedTeam: false },
  diego: { analyst: false, restrictedTeam: false },
  guest: { analyst: false, restrictedTeam: false },
};

/** Where a person acts: their 1:1 chat with the bot, a group chat, a team channel, the SOC's triage channel. */
export type Kind = "personal" | "groupChat" | "channel" | "triage";
export const KINDS: Kind[] = ["personal", "groupChat", "channel", "triage"];

const GROUP = "19:groupchat-audience@thread.v2";
const CHANNEL = "19:general@thread.tacv2";
export const TRIAGE = "19:soc-triage@thread.tacv2";
/** Where the message extension's invokes come from (test/support/teams.ts). */
export const FACILITIES = "19:facilities@thread.tacv2";
const TEAM = "19:team-general@thread.tacv2";
const dm = (who: Who) => `a:1:dm-${who}`;

/** Who is in a conversation (by id, without a channel thread's ";messageid=..."). */
export function membersOf(conversationId: string): Who[] {
  const id = conversationId.split(";")[0]!;
  if (id.startsWith("a:1:dm-")) return [id.slice("a:1:dm-".length) as Who];
  // A 1:1 chat the bot opened itself (the fake connector's createConversation answer).
  if (id.startsWith("a:1:chat-with-")) {
    const teamsId = id.slice("a:1:chat-with-".length);
    const who = EVERYONE.find((w) => PEOPLE[w].id === teamsId);
    if (who) return [who];
  }
  // The shared ones: everyone is in the group chat and the team's channels; only analysts in the triage channel.
  if (id === GROUP || id === CHANNEL || id === FACILITIES) return EVERYONE;
  if (id === TRIAGE) return ["alex", "lee"];
  throw new Error(`the bot wrote to a conversation the test does not model: ${conversationId}`);
}

/** `activity` as sent by `who` in a conversation of `kind`. */
export function placed<T extends Record<string, any>>(activity: T, kind: Kind, who: Who): T {
  const a = structuredClone(activity) as Record<string, any>;
  a.from = PEOPLE[who];
  const tenant = { tenant: { id: TENANT } };
  if (kind === "personal") {
    a.conversation = { conversationType: "personal", tenantId: TENANT, id: dm(who) };
    a.channelData = { ...a.channelData, ...tenant };
  } else if (kind === "groupChat") {
    a.conversation = { isGroup: true, conversationType: "groupChat", tenantId: TENANT, id: GROUP };
    a.channelData = { ...a.channelData, ...tenant };
  } else {
    const channel = kind === "triage" ? TRIAGE : CHANNEL;
    a.conversation = { isGroup: true, conversationType: "channel", tenantId: TENANT, id: `${channel};messageid=1732611112222` };
    a.channelData = { ...a.channelData, ...tenant, teamsChannelId: channel, teamsTeamId: TEAM, channel: { id: channel }, team: { id: TEAM } };
  }
  return a as T;
}

/** An incident the test follows, with every word typed about it. */
export interface Tracked {
  id: string;
  /** Restricted at any time so far: its words then belong to the restricted-cases team and its reporters. */
  everRestricted: boolean;
  /** People who reported it (they may read what is shared with reporters). */
  reporters: Who[];
  words: Word[];
  /** The conversation its form was sent from (where its own card message is), when made from a form. */
  formConversation?: string;
}

export interface Word {
  text: string;
  incident: Tracked;
  /** Which field it was typed into (for the failure message). */
  field: string;
  /** The person who typed it as a reporter: their own words are theirs to see. */
  owner?: Who;
  /** Meant for the reporters (a shared comment, a question). */
  toReporters?: boolean;
  /** Typed by an analyst on a card in this conversation, in front of everyone there (not for a restricted incident). */
  typedIn?: string;
}

let counter = 0;
/** A unique marker: letters and digits only, under 30 characters (no escaping, no wrapping in cards). */
export function marker(field: string): string {
  counter += 1;
  return `Q${field.replace(/[^A-Za-z]/g, "").slice(0, 6).toUpperCase()}${counter}X${randomUUID().replace(/-/g, "").slice(0, 8).toUpperCase()}`;
}

export function track(id: string, restricted: boolean, reporters: Who[] = []): Tracked {
  return { id, everRestricted: restricted, reporters, words: [] };
}

export function word(incident: Tracked, field: string, text: string, how: Omit<Word, "text" | "incident" | "field"> = {}): string {
  incident.words.push({ text, incident, field, ...how });
  return text;
}

/** Whether `who` may read `w` in a message of conversation `conversationId`. */
export function mayRead(who: Who, w: Word, conversationId: string): boolean {
  const role = ROLE[who];
  if (role.analyst && (!w.incident.everRestricted || role.restrictedTeam)) return true;
  if (w.owner === who) return true;
  if (w.toReporters && w.incident.reporters.includes(who)) return true;
  return w.typedIn !== undefined && w.typedIn === conversationId.split(";")[0] && !w.incident.everRestricted;
}

/** The bot's messages touched since call `from`, each as people see it now (its latest version). */
export function messagesSince(connector: FakeConnector, from: number): { key: string; conversation: string; text: string }[] {
  const latest = new Map<string, { conversation: string; body: unknown }>();
  connector.calls.slice(from).forEach((call, i) => {
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/?]+))?/.exec(call.path);
    if (!m || (call.method !== "POST" && call.method !== "PUT")) return;
    const conversation = m[1]!;
    const key = call.method === "PUT" ? `${conversation} message ${m[2]}` : `${conversation} new message #${from + i}`;
    latest.set(key, { conversation, body: call.body });
  });
  // Updates of messages sent before `from` are included too: that is what people see of them now.
  return [...latest].map(([key, { conversation, body }]) => ({
    key,
    conversation,
    text: JSON.stringify(body ?? "").replace(/\u200b/g, ""),
  }));
}

/** For each audience, every word of `incidents` they can see and may not, in the messages since `from`. */
export function leaks(connector: FakeConnector, from: number, incidents: Tracked[]): Record<Who, string[]> {
  const out = Object.fromEntries(EVERYONE.map((w) => [w, [] as string[]])) as Record<Who, string[]>;
  const words = incidents.flatMap((i) => i.words);
  for (const m of messagesSince(connector, from)) {
    const members = membersOf(m.conversation);
    for (const w of words) {
      if (!m.text.includes(w.text)) continue;
      for (const who of members) {
        if (!mayRead(who, w, m.conversation)) {
          out[who].push(`${w.field} of ${w.incident.everRestricted ? "restricted " : ""}incident ${w.incident.id.slice(0, 8)} in ${m.key}`);
        }
      }
    }
  }
  return out;
}

/* The bot's work after its answers (card updates for everyone, triage posts, notices), observed so a test
 * can wait for all of it to finish before it reads what people see: no sleeping, nothing missed. */
const afterAnswers = new Set<AfterAnswer>();
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own instance as `this`, just below
const start = AfterAnswer.prototype.start;
AfterAnswer.prototype.start = function (this: AfterAnswer, what: string, work: () => Promise<unknown>) {
  afterAnswers.add(this);
  return start.call(this, what, work);
};
/** Resolves once every bot in this process has finished the work it started after its answers. */
export async function settle(): Promise<void> {
  for (const later of afterAnswers) await later.settled();
}

/** Rate limits out of the way: these tests make many changes a minute as one person (rate limits have tests of their own). */
export const NO_LIMITS = { RATE_LIMIT_CREATES_PER_MINUTE: "10000", RATE_LIMIT_ACTIONS_PER_MINUTE: "100000", RATE_LIMIT_SEARCHES_PER_MINUTE: "100000" };

/** A bot, its Sentinel, and what it holds, as the tests drive it. */
export interface World {
  bot: TestBot;
  sentinel?: FakeSentinel;
  /** Every incident made so far, with its words. */
  tracked: Tracked[];
}

export async function stored(w: World, id: string): Promise<Incident> {
  const all = await w.bot.incidents("", 500);
  const found = all.find((i) => i.id === id);
  if (!found) throw new Error(`no incident ${id}`);
  return found;
}

/** Posts an activity; it must be answered without a server error. */
async function post(w: World, activity: unknown): Promise<{ status: number; body: any }> {
  const res = await w.bot.post(activity);
  expect(res.status).toBeLessThan(500);
  return res;
}

/** `who` says `text` to the bot in a conversation of `kind`. */
export async function say(w: World, kind: Kind, who: Who, text: string): Promise<void> {
  const where = kind === "personal" ? "personal" : kind === "groupChat" ? "groupChat" : "channel";
  await post(w, placed(message(w.bot.serviceUrl, text, { where }), kind, who));
}

/** The form the bot sends when `who` says "incident" in `kind` (the full form for analysts, the report for others). */
export async function openForm(w: World, kind: Kind, who: Who): Promise<Record<string, any>> {
  const before = w.bot.connector.calls.length;
  await say(w, kind, who, "incident");
  const sent = w.bot.connector.calls.slice(before).filter((c) => c.method === "POST" && c.body?.attachments?.length);
  return cardOf(sent[sent.length - 1]!.body);
}

/**
 * `who` fills the form they opened in `kind` with `fields` and sends it from that message. Returns the
 * incident's id (the form's id), once it is posted to the triage channel and Sentinel has it.
 */
export async function createFromForm(w: World, kind: Kind, who: Who, fields: Record<string, string>): Promise<string> {
  const form = await openForm(w, kind, who);
  const action = form.actions[0];
  const data = { ...action.data, ...values(form), ...fields };
  await post(w, placed(execute(w.bot.serviceUrl, action.verb, data, { replyToId: `form-${randomUUID()}` }), kind, who));
  const id = String(data.submissionId);
  await stored(w, id); // made by the answer itself: else it says why not
  await ready(w, id);
  return id;
}

/** `who` reports `payload` with the message extension (a dialog: private), as a new incident or another report. */
export async function reportMessage(w: World, who: Who, payload: ReturnType<typeof messagePayload>, inputs: Record<string, string>): Promise<void> {
  const from = PEOPLE[who];
  const open = await post(w, fetchTaskFromMessage(w.bot.serviceUrl, payload, { from }));
  const card = open.body.task.value.card.content;
  const data = { ...card.actions[0].data, ...values(card), ...inputs };
  await post(w, submitActionFromMessage(w.bot.serviceUrl, data, { from, payload }));
}

/** A message by someone outside the SOC, with an id no other test uses. */
export function aMessage(): ReturnType<typeof messagePayload> {
  const id = String(1_700_000_000_000 + Math.floor(Math.random() * 1e11));
  return messagePayload({
    id,
    linkToMessage: `https://teams.microsoft.com/l/message/19:facilities@thread.tacv2/${id}`,
    from: { user: { id: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a03", displayName: "Grady Archie" }, application: null },
    body: { contentType: "text", content: `Please pay the attached invoice today (${id}).` },
  });
}

/** Waits until the incident is posted to the triage channel and Sentinel has its latest revision, then for the bot's work. */
export async function ready(w: World, id: string): Promise<Incident> {
  let last: Incident | undefined;
  const incident = await until(`incident ${id} posted and in Sentinel`, async () => {
    const i = (last = (await w.bot.incidents("", 500)).find((x) => x.id === id));
    const posted = i?.triage?.state === "posted" && i.triage.messageId;
    const synced = !w.sentinel || (i?.sentinel?.revision === i?.revision && !i?.sentinel?.claimUntilUtc);
    return posted && synced ? i : undefined;
  }).catch((error: Error) => {
    throw new Error(`${error.message}: revision ${last?.revision}, triage ${JSON.stringify(last?.triage)}, sentinel ${JSON.stringify(last?.sentinel)}`);
  });
  await settle();
  return incident;
}

/**
 * The message `who` clicks in `kind`: the incident's triage post in the triage channel; the form it was
 * made from when that is in this conversation; else a card of it somewhere else (not its own message).
 */
function cardMessage(w: World, incident: Incident, kind: Kind, who: Who): string {
  if (kind === "triage") return incident.triage?.messageId ?? "no-triage-post";
  const here = w.tracked.find((t) => t.id === incident.id)?.formConversation === conversationIdOf(kind, who);
  return here && incident.formMessageId ? incident.formMessageId : `elsewhere-${randomUUID()}`;
}

/** `who` clicks `verb` on the incident's card in `kind`. */
export async function click(w: World, kind: Kind, who: Who, verb: string, id: string, extra: Record<string, unknown> = {}) {
  const incident = await stored(w, id);
  const data = { incidentId: id, revision: incident.revision, ...extra };
  return post(w, placed(execute(w.bot.serviceUrl, verb, data, { replyToId: cardMessage(w, incident, kind, who) }), kind, who));
}

/** `who` opens Edit on the incident's card in `kind` and saves it with `changes`. */
export async function edit(w: World, kind: Kind, who: Who, id: string, changes: Record<string, string>) {
  const incident = await stored(w, id);
  const replyToId = cardMessage(w, incident, kind, who);
  const opened = await post(w, placed(execute(w.bot.serviceUrl, VERBS.edit, { incidentId: id, revision: incident.revision }, { replyToId }), kind, who));
  const form = opened.body?.value;
  if (!form?.actions?.[0]?.data) return opened; // not theirs to edit: nothing to save
  const data = { ...form.actions[0].data, ...values(form), ...changes };
  return post(w, placed(execute(w.bot.serviceUrl, VERBS.update, data, { replyToId }), kind, who));
}

/** What an older client's "My reports" button sends: a message with the verb as its value. */
export async function myReportsButton(w: World, kind: Kind, who: Who): Promise<void> {
  await post(w, placed(submitMessage(w.bot.serviceUrl, { verb: VERBS.myReports }), kind, who));
}

/** The conversation (its id) where `who` acts in `kind`. */
export function conversationIdOf(kind: Kind, who: Who): string {
  return kind === "personal" ? dm(who) : kind === "groupChat" ? GROUP : kind === "channel" ? CHANNEL : TRIAGE;
}
