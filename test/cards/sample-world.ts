/**
 * The world card samples are made in: the real bot (test/support/bot.ts), with the sample directory
 * plus people and groups whose names are as long as Microsoft Entra ID allows, and helpers that talk
 * to it as Teams does. Cards are always the bot's answers or the output of src/teams/cards.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values } from "../support/cards";
import { ALEX, composeQuery, execute, fetchTaskFromMessage, message, messagePayload, type Person, type Where } from "../support/teams";
import type { Json } from "./teams-rules";

/** Entra ID allows 256 characters in a display name and 254 in a mail address. */
export const NAME_MAX = 256;
export const MAIL_MAX = 254;

/**
 * Text that costs the most once serialised: `"` and `\` each become two characters in JSON (so four
 * bytes in UTF-16), and an unbroken run is the hardest case for wrapping too.
 */
export function heavy(length: number): string {
  return '"\\'.repeat(Math.ceil(length / 2)).slice(0, length);
}

/** Readable text of exactly `length` characters, in words, for cards a person should be able to read. */
export function words(length: number, seed = "Suspicious sign-in from an unfamiliar location after a password spray"): string {
  let out = "";
  while (out.length < length) out += (out ? " " : "") + seed;
  return out.slice(0, length).replace(/\s$/, ".");
}

/** Worst-case text: ordinary words, or the text that costs most once serialised. */
export type TextKind = "words" | "heavy";

export function text(kind: TextKind, length: number): string {
  return kind === "heavy" ? heavy(length) : words(length);
}

/** A person and a group with the longest names and addresses Entra ID allows, in each kind of text. */
export const LONG_PEOPLE: Record<TextKind, Person> = {
  words: { id: "29:1f-long-name-user-mri", name: words(NAME_MAX, "Maximiliana Alexandra Konstantinopoulou-Wolfeschlegelsteinhausen"), aadObjectId: "6f1c2d3e-0000-4000-8000-0000000000f1" },
  heavy: { id: "29:1f-heavy-name-user-mri", name: heavy(NAME_MAX), aadObjectId: "6f1c2d3e-0000-4000-8000-0000000000f2" },
};

export const LONG_GROUP_IDS: Record<TextKind, string> = {
  words: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9ef1",
  heavy: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9ef2",
};

function longMail(local: string): string {
  const domain = "@contoso.example.com";
  return `${local}${"x".repeat(MAIL_MAX - local.length - domain.length)}${domain}`;
}

/** data/directory.json plus the long-named people and groups. */
function writeDirectory(dir: string): string {
  const base = JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "data", "directory.json"), "utf8"));
  for (const kind of ["words", "heavy"] as const) {
    const person = LONG_PEOPLE[kind];
    // Analysts, so that they get the full form and may set every field.
    base.users.push({ id: person.aadObjectId, displayName: person.name, mail: longMail(`${kind}.user.`), userPrincipalName: longMail(`${kind}.user.`), analyst: true });
    base.groups.push({ id: LONG_GROUP_IDS[kind], displayName: text(kind, NAME_MAX), mail: longMail(`${kind}.group.`) });
  }
  const file = path.join(dir, "directory.json");
  fs.writeFileSync(file, JSON.stringify(base));
  return file;
}

export interface SampleWorld {
  bot: TestBot;
  /** The card the bot sends when `from` writes `text` to it (in a personal chat unless said). */
  say(text: string, from?: Person, where?: Where): Promise<Json>;
  /** The card the bot answers an Action.Execute with (the invoke response's card). */
  act(verb: string, data: Record<string, unknown>, from?: Person): Promise<Json>;
  /** Submits a card the way Teams does: its first action's data, the inputs as they stand, then what was typed. */
  submit(card: Json, typed: Record<string, string>, from?: Person): Promise<Json>;
  /** The dialog's card when `from` chooses "Create incident" on a Teams message (message extension). */
  dialog(from?: Person, payload?: ReturnType<typeof messagePayload>): Promise<Json>;
  /** The cards the compose box's "Find incident" offers for `text`. */
  find(text: string, from?: Person): Promise<Json[]>;
  /** Makes the SOC's triage channel the one new incidents are posted to. */
  triageHere(): Promise<void>;
  /** Waits for the `count`th card posted in the triage channel and returns it. */
  triagePost(count: number): Promise<Json>;
  stop(): Promise<void>;
}

export async function startSampleWorld(): Promise<SampleWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "card-samples-"));
  const bot = await startTestBot({ DIRECTORY_FILE: writeDirectory(dir) });
  const act = async (verb: string, data: Record<string, unknown>, from: Person = ALEX) => {
    const res = await bot.post(execute(bot.serviceUrl, verb, data, { from }));
    if (res.status !== 200 || res.body?.type !== "application/vnd.microsoft.card.adaptive") {
      throw new Error(`the bot answered ${verb} with ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }
    return res.body.value as Json;
  };
  const triagePosts = () =>
    bot.connector.calls.filter((c) => c.method === "POST" && c.path.startsWith("/v3/conversations/19:soc-triage@thread.tacv2/activities"));
  return {
    bot,
    say: async (text, from = ALEX, where = "personal") => {
      const before = bot.connector.sent().length;
      const res = await bot.post(message(bot.serviceUrl, text, { from, where }));
      if (res.status !== 200) throw new Error(`the bot answered "${text}" with ${res.status}`);
      const sent = bot.connector.sent().slice(before);
      if (sent.length !== 1) throw new Error(`the bot sent ${sent.length} messages for "${text}"`);
      return cardOf(sent[0]);
    },
    act,
    submit: (card, typed, from = ALEX) => {
      const action = card.actions[0];
      return act(action.verb, { ...action.data, ...values(card), ...typed }, from);
    },
    dialog: async (from = ALEX, payload = messagePayload()) => {
      const res = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from }));
      const card = res.body?.task?.value?.card?.content;
      if (res.status !== 200 || !card) throw new Error(`the bot answered the message action with ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      return card as Json;
    },
    find: async (text, from = ALEX) => {
      const res = await bot.post(composeQuery(bot.serviceUrl, text, { from }));
      if (res.status !== 200) throw new Error(`the bot answered a search with ${res.status}`);
      return (res.body.composeExtension.attachments as { content: Json }[]).map((a) => a.content);
    },
    triageHere: async () => {
      const res = await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
      if (res.status !== 200) throw new Error(`the bot answered "triage here" with ${res.status}`);
    },
    triagePost: async (count) => {
      while (triagePosts().length < count) await bot.connector.waitForCalls(bot.connector.calls.length + 1);
      return cardOf(triagePosts()[count - 1]!.body);
    },
    stop: async () => {
      await bot.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
