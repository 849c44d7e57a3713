import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { aForm } from "../support/builders";
import { startTestBot, type TestBot } from "../support/bot";
import { problemsShown, visibleText } from "../support/cards";
import { healthy, postRaw, storedIn, type HttpAnswer } from "../support/security";
import { execute, message, search, submitMessage, tokenFor } from "../support/teams";

/**
 * A corpus of hand-written bad requests at the HTTP boundary. Every one must get a clear answer
 * (asserted on its words), never a 5xx; afterwards the bot still answers /healthz and the SQLite
 * file holds exactly what it held before (no incident, no number used, no tag counted).
 */

let bot: TestBot;
beforeAll(async () => {
  // The corpus sends more creates a minute than a person may: the limit has tests of its own.
  bot = await startTestBot({ RATE_LIMIT_CREATES_PER_MINUTE: "10000", RATE_LIMIT_SEARCHES_PER_MINUTE: "10000", RATE_LIMIT_ACTIONS_PER_MINUTE: "10000" });
});
afterAll(async () => {
  await bot.stop();
});

const json = (value: unknown) => JSON.stringify(value);
/** A JSON text nested `depth` levels deep, which JSON.stringify itself could not produce. */
const deep = (depth: number) => `${"[".repeat(depth)}"x"${"]".repeat(depth)}`;
const send = (body: string | Uint8Array, headers: Record<string, string> = { "content-type": "application/json" }) => postRaw(bot.app.url, body, headers);
const post = (activity: unknown) => send(json(activity));
const s = () => bot.serviceUrl;
const card = (value: unknown) => ({ ...execute(s(), "incident.create", {}), value });
/** Raw form JSON with a fresh submission id (and, where the JSON carries it, the token the bot would have issued for it). */
const withId = (json: (id: string) => string) => json(randomUUID());
const action = (fields: Record<string, unknown>) => card({ action: { type: "Action.Execute", verb: "incident.create", ...fields } });
const create = (form: Record<string, unknown>) => post(execute(s(), "incident.create", form));
const createForm = (overrides: Record<string, string>) => create({ ...aForm(), ...overrides });
const searchWith = (value: unknown) => post({ ...search(s(), "owners", "a"), value });

/** The words the person (or the Bot Connector) gets back, wherever this kind of answer puts them. */
function problemOf(res: HttpAnswer): string {
  const body = res.body;
  if (body?.type === "application/vnd.microsoft.error") return String(body.value?.message);
  if (body?.type === "application/vnd.microsoft.card.adaptive") {
    // A form back with its problems: every error shown next to a field, plus any banner.
    return problemsShown(body.value).join(" | ");
  }
  if (typeof body === "object" && body && "message" in body) return String(body.message);
  return res.text;
}

interface Case {
  name: string;
  request: () => Promise<HttpAnswer>;
  status: number;
  says: RegExp;
}

const longVerb = "incident.create".padEnd(10_000, "x");
const cases: Case[] = [
  // --- bytes and HTTP ---
  { name: "malformed JSON", request: () => send("{ not json"), status: 400, says: /^Invalid JSON/ },
  { name: "JSON cut off half-way", request: () => send(json(message(s(), "incident")).slice(0, 80)), status: 400, says: /^Invalid JSON/ },
  { name: "a byte-order mark before the JSON", request: () => send(`\uFEFF${json(message(s(), "incident"))}`), status: 400, says: /^Invalid JSON/ },
  { name: "an empty body", request: () => send(""), status: 400, says: /a JSON object with a type/ },
  { name: "JSON null", request: () => send("null"), status: 400, says: /a JSON object with a type/ },
  { name: "a JSON string", request: () => send('"incident"'), status: 400, says: /a JSON object with a type/ },
  { name: "a JSON number", request: () => send("42"), status: 400, says: /a JSON object with a type/ },
  { name: "an array of activities instead of one", request: () => send(json([message(s(), "incident")])), status: 400, says: /a JSON object with a type/ },
  { name: "the activity sent as text/plain", request: () => send(json(message(s(), "incident")), { "content-type": "text/plain" }), status: 415, says: /Content-Type: application\/json/ },
  { name: "no Content-Type", request: () => send(json(message(s(), "incident")), {}), status: 415, says: /Content-Type: application\/json/ },
  { name: "a form post (type=message&text=incident)", request: () => send("type=message&text=incident", { "content-type": "application/x-www-form-urlencoded" }), status: 415, says: /Content-Type: application\/json/ },
  { name: "multipart form data", request: () => send("--b\r\nContent-Disposition: form-data; name=type\r\n\r\nmessage\r\n--b--", { "content-type": "multipart/form-data; boundary=b" }), status: 415, says: /Content-Type: application\/json/ },
  { name: "gzip that is not gzip (used to crash the process)", request: () => send("definitely not gzip", { "content-type": "application/json", "content-encoding": "gzip" }), status: 415, says: /uncompressed/ },
  { name: "a gzip bomb (50 MB of zeros in 50 KB)", request: () => send(gzipSync(Buffer.alloc(50_000_000)), { "content-type": "application/json", "content-encoding": "gzip" }), status: 415, says: /uncompressed/ },
  { name: "a body over MAX_BODY_BYTES (300 KB)", request: () => create({ ...aForm(), description: "d".repeat(300_000) }), status: 413, says: /exceeds 262144/ },
  { name: "GET instead of POST", request: async () => { const r = await fetch(`${bot.app.url}/api/messages`); return { status: r.status, body: await r.json(), text: "" }; }, status: 405, says: /GET is not allowed/ },
  // --- the activity envelope ---
  { name: "an activity with no type", request: () => post({ ...message(s(), "incident"), type: undefined }), status: 400, says: /a JSON object with a type/ },
  { name: "a type that is a number", request: () => post({ ...message(s(), "incident"), type: 7 }), status: 400, says: /a JSON object with a type/ },
  { name: "a 10,000-character type", request: () => post({ ...message(s(), "incident"), type: "m".repeat(10_000) }), status: 400, says: /^This activity can't be used: type: String must contain at most 64 character/ },
  { name: "no serviceUrl (the bot would answer api.botframework.com)", request: () => post({ ...message(s(), "incident"), serviceUrl: undefined }), status: 400, says: /serviceUrl is missing/ },
  { name: "a javascript: serviceUrl", request: () => post({ ...message(s(), "incident"), serviceUrl: "javascript:alert(1)" }), status: 400, says: /serviceUrl must be an http or https URL/ },
  { name: "a serviceUrl that is not a URL", request: () => post({ ...message(s(), "incident"), serviceUrl: "the connector" }), status: 400, says: /serviceUrl is not a URL/ },
  { name: "no conversation", request: () => post({ ...message(s(), "incident"), conversation: undefined }), status: 400, says: /conversation is missing/ },
  { name: "a conversation id that is a number", request: () => post({ ...message(s(), "incident"), conversation: { id: 12 } }), status: 400, says: /conversation\.id is missing/ },
  { name: "a conversation that is a list", request: () => post({ ...message(s(), "incident"), conversation: ["a:1"] }), status: 400, says: /conversation is missing/ },
  { name: "a type only on the prototype (__proto__)", request: () => send(`{"__proto__":{"type":"message"},"serviceUrl":"${s()}","conversation":{"id":"a:1"}}`), status: 400, says: /a JSON object with a type/ },
  { name: "an invoke nobody handles (task/delete)", request: () => post({ ...execute(s(), "incident.create", {}), name: "task/delete" }), status: 400, says: /^This bot does not handle "task\/delete" invokes\.$/ },
  { name: "an invoke with no name", request: () => post({ ...execute(s(), "incident.create", {}), name: undefined }), status: 400, says: /^This bot does not handle unnamed invokes\.$/ },
  { name: "a 10,000-character invoke name", request: () => post({ ...execute(s(), "incident.create", {}), name: "n".repeat(10_000) }), status: 400, says: /name is longer than 256 characters/ },
  // --- card actions (adaptiveCard/action) ---
  { name: "a card action with no value", request: () => post(card(null)), status: 400, says: /^This card action can't be read: Expected object, received null\.$/ },
  { name: "a card action whose value is a list", request: () => post(card([{ action: {} }])), status: 400, says: /can't be read: Expected object, received array/ },
  { name: "nested garbage 5,000 levels deep as the value", request: () => send(json(card("@@")).replace('"@@"', deep(5000))), status: 400, says: /can't be read: Expected object, received array/ },
  { name: "an Action.Submit where Action.Execute is expected", request: () => post(action({ type: "Action.Submit" })), status: 400, says: /^This card action can.t be read: action\.type: .*"Action\.Execute"\.$/ },
  { name: "no verb", request: () => post(card({ action: { type: "Action.Execute", data: {} } })), status: 400, says: /action\.verb is missing/ },
  { name: "a verb that is a number", request: () => post(action({ verb: 1 })), status: 400, says: /action\.verb/ },
  { name: "an empty verb", request: () => post(action({ verb: "" })), status: 400, says: /action\.verb is empty/ },
  { name: "an unknown verb", request: () => post(action({ verb: "incident.delete", data: aForm() })), status: 400, says: /^Unknown action "incident\.delete"\. This bot knows incident\.create/ },
  { name: "a 10,000-character verb", request: () => post(action({ verb: longVerb, data: aForm() })), status: 400, says: new RegExp(`^Unknown action "${longVerb.slice(0, 60).replace(/\./g, "\\.")}"\\. This bot knows .{0,300}$`) },
  { name: "form data that is a list", request: () => post(action({ data: ["title", "x"] })), status: 400, says: /action\.data: Expected object, received array/ },
  { name: "form data that is a string", request: () => post(action({ data: "title=x" })), status: 400, says: /action\.data: Expected object, received string/ },
  { name: "a title that is a number", request: () => create({ ...aForm(), title: 42 }), status: 400, says: /^These form fields must be text: title\.$/ },
  { name: "tags that are an object", request: () => create({ ...aForm(), tags: { Phishing: true } }), status: 400, says: /must be text: tags/ },
  { name: "a tag list holding a number", request: () => create({ ...aForm(), tags: ["Phishing", 7] }), status: 400, says: /must be text: tags/ },
  { name: "a submission id that is an object", request: () => create({ ...aForm(), submissionId: { $gt: "" } }), status: 400, says: /must be text: submissionId/ },
  { name: "every field of the wrong type", request: () => create({ submissionId: 1, title: [], description: {}, severity: true, status: 3, closing: [1], closingComment: {}, owner: 9, tags: 0 }), status: 400, says: /must be text: submissionId, title, description, severity, status, closing, closingComment, owner, tags\./ },
  { name: "a title nested 5,000 levels deep", request: () => send(json(execute(s(), "incident.create", { ...aForm(), title: "@@" })).replace('"@@"', deep(5000))), status: 400, says: /must be text: title/ },
  { name: "a title and submission id only on the prototype (__proto__)", request: () => send(json(action({ data: "@@" })).replace('"@@"', `{"__proto__":{"title":"Polluted","submissionId":"${randomUUID()}"}}`)), status: 200, says: /^Enter a title\. \| |out of date/ },
  { name: "constructor.prototype keys in the form", request: () => send(json(action({ data: "@@" })).replace('"@@"', withId((id) => `{"constructor":{"prototype":{"title":"Polluted","polluted":true}},"submissionId":"${id}","submissionToken":"${tokenFor(id)}"}`))), status: 200, says: /Enter a title\./ },
  // --- what was typed (the form comes back with the error next to the field) ---
  { name: "a whitespace-only title", request: () => createForm({ title: " \t \u00a0 " }), status: 200, says: /^Enter a title\.$/ },
  { name: "a title with a NUL character", request: () => createForm({ title: "Badge\u0000reader" }), status: 200, says: /^The title can't contain control characters or line breaks\.$/ },
  { name: "a title with a line break", request: () => createForm({ title: "Line one\nLine two" }), status: 200, says: /can't contain control characters or line breaks/ },
  { name: "a title with a Unicode line separator", request: () => createForm({ title: "Line one\u2028Line two" }), status: 200, says: /can't contain control characters or line breaks/ },
  { name: "a 257-character title", request: () => createForm({ title: "t".repeat(257) }), status: 200, says: /^Keep the title to 256 characters \(it has 257\)\.$/ },
  { name: "a 100,000-character title", request: () => createForm({ title: "t".repeat(100_000) }), status: 200, says: /it has 100000/ },
  { name: "a 5001-character description", request: () => createForm({ title: "Long", description: "d".repeat(5001) }), status: 200, says: /^Keep the description to 5000 characters \(it has 5001\)\.$/ },
  { name: "a description with a bell character", request: () => createForm({ title: "Bell", description: "ring\u0007ring" }), status: 200, says: /^The description can't contain control characters\.$/ },
  { name: "an unknown severity", request: () => createForm({ title: "Sev", severity: "Critical" }), status: 200, says: /^Choose a severity: High, Medium, Low, Informational\.$/ },
  { name: "an unknown status", request: () => createForm({ title: "Status", status: "Deleted" }), status: 200, says: /^Choose a status: New, Active, Closed\.$/ },
  { name: "Closed without a classification", request: () => createForm({ title: "Closed", status: "Closed", closingComment: "Done." }), status: 200, says: /^A closed incident needs a classification\.$/ },
  { name: "Closed with a classification that does not exist", request: () => createForm({ title: "Closed", status: "Closed", closing: "TruePositive.Whatever", closingComment: "Done." }), status: 200, says: /^A closed incident needs a classification\.$/ },
  { name: "Closed without a closing comment", request: () => createForm({ title: "Closed", status: "Closed", closing: "Undetermined", closingComment: "   " }), status: 200, says: /^A closed incident needs a closing comment\.$/ },
  { name: "a 2,001-character closing comment", request: () => createForm({ title: "Closed", status: "Closed", closing: "Undetermined", closingComment: "c".repeat(2001) }), status: 200, says: /^Keep the closing comment to 2000 characters \(it has 2001\)\.$/ },
  { name: "an owner who is not in the directory", request: () => createForm({ title: "Owner", owner: "0badc0de-0000-4000-8000-000000000000" }), status: 200, says: /^That owner is not in the directory any more\. Search again\.$/ },
  { name: "an owner that is a name, not an id", request: () => createForm({ title: "Owner", owner: "The CEO" }), status: 200, says: /^Choose the owner from the list\.$/ },
  { name: "21 tags", request: () => createForm({ title: "Tags", tags: Array.from({ length: 21 }, (_, i) => `t${i}`).join(",") }), status: 200, says: /^Use at most 20 tags \(you gave 21\)\.$/ },
  { name: "5,000 tags", request: () => createForm({ title: "Tags", tags: Array.from({ length: 5000 }, (_, i) => `t${i}`).join(",") }), status: 200, says: /^Use at most 20 tags \(you gave 5000\)\.$/ },
  { name: "a 51-character tag", request: () => createForm({ title: "Tags", tags: `ok,${"x".repeat(51)}` }), status: 200, says: /^Each tag can be at most 50 characters/ },
  { name: "20,000 commas around an over-long tag", request: () => createForm({ title: "Tags", tags: `${",".repeat(10_000)}${"y".repeat(60)}${",".repeat(10_000)}` }), status: 200, says: /at most 50 characters/ },
  { name: "a tag with a control character", request: () => createForm({ title: "Tags", tags: "ok,bad\u001btag" }), status: 200, says: /^Tags can't contain control characters\.$/ },
  { name: "a submission id that is not a GUID", request: () => createForm({ title: "Id", submissionId: "1; DROP TABLE incidents" }), status: 200, says: /^This form is out of date\. Open a new one with \/incident\.$/ },
  { name: "a form with nothing in it", request: () => create({}), status: 200, says: /out of date/ },
  // --- typeahead (application/search) ---
  { name: "a search with no value", request: () => searchWith(null), status: 400, says: /^This search can't be read: Expected object, received null\.$/ },
  { name: "a search with no dataset", request: () => searchWith({ queryText: "a" }), status: 400, says: /dataset is missing/ },
  { name: "an unknown dataset", request: () => searchWith({ queryText: "a", dataset: "secrets" }), status: 400, says: /^Unknown dataset "secrets"\. This bot answers owners, tags, techniques and incidents\.$/ },
  { name: "a 10,000-character dataset", request: () => searchWith({ queryText: "a", dataset: "d".repeat(10_000) }), status: 400, says: new RegExp(`^Unknown dataset "${"d".repeat(60)}"\\.`) },
  { name: "a 201-character query", request: () => searchWith({ queryText: "q".repeat(201), dataset: "owners" }), status: 400, says: /queryText is longer than 200 characters/ },
  { name: "a query that is a number", request: () => searchWith({ queryText: 5, dataset: "tags" }), status: 400, says: /queryText: Expected string, received number/ },
  { name: "a negative top", request: () => searchWith({ queryText: "a", dataset: "tags", queryOptions: { top: -1 } }), status: 400, says: /queryOptions\.top/ },
  { name: "a top that is text", request: () => searchWith({ queryText: "a", dataset: "tags", queryOptions: { top: "15" } }), status: 400, says: /queryOptions\.top: Expected number, received string/ },
];

describe("bad requests at the HTTP boundary", () => {
  it(`holds at least 40 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s: a clear answer, no 5xx, nothing stored", async (_name, c) => {
    const file = bot.app.config.SQLITE_PATH;
    const before = storedIn(file);
    const res = await c.request();
    expect(res.status).toBe(c.status);
    expect(problemOf(res)).toMatch(c.says);
    expect(await healthy(bot.app.url)).toBe(true);
    expect(storedIn(file)).toEqual(before);
  });

  it("Action.Submit fallbacks that can't be read are answered in the conversation, storing nothing", async () => {
    const file = bot.app.config.SQLITE_PATH;
    const before = storedIn(file);
    bot.connector.reset();
    await post(submitMessage(s(), { verb: "incident.create", ...aForm(), title: 5 }));
    await post(submitMessage(s(), { verb: "incident.erase", title: "x" }));
    expect(bot.connector.sent().map((a) => a.text)).toEqual([
      "That form could not be read: These form fields must be text: title. Say incident to open a new form.",
      "That button is not one this bot knows. Say incident to open a new form.",
    ]);
    expect(storedIn(file)).toEqual(before);
  });

  it("leaves nothing behind, the whole corpus sent in a row: no prototype polluted, and the next incident is still number 1", async () => {
    // Self-contained: the corpus again, here, whatever ran before (or did not).
    for (const c of cases) expect((await c.request()).status).toBe(c.status);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).title).toBeUndefined();
    const res = await create({ ...aForm({ title: "After the bad input" }) });
    expect(visibleText(res.body.value)[0]).toBe("Incident INC-1 created");
    expect(storedIn(bot.app.config.SQLITE_PATH)).toMatchObject({ incidents: 1, lastNumber: 1 });
  });
});
