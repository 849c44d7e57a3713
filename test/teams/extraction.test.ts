import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { cardOf, values, visibleText } from "../support/cards";
import {
  ALEX,
  DIEGO,
  LEE,
  MEGAN,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  submitActionFromMessage,
  type Person,
} from "../support/teams";
import type { Entity } from "../../src/incidents/entities";
import type { Incident } from "../../src/incidents/model";

/*
 * Issue 26, extraction: what an employee reports in chat, a message reported with the message
 * extension (its text and its link targets), a later report of the same message and an analyst's
 * comment bring their indicators to the stored incident, on both stores; the reporter and a message's
 * author come from the directory, an app that posted a message is named as an app.
 */

jest.setTimeout(120_000);

let bot: TestBot;
let cosmos: CosmosTestServer;
beforeAll(async () => {
  cosmos = await startCosmosServer();
});
afterAll(async () => {
  await cosmos.close();
});

async function act(verb: string, data: Record<string, unknown>, from: Person = ALEX) {
  const res = await bot.post(execute(bot.serviceUrl, verb, data, { from }));
  expect(res.status).toBe(200);
  return res.body.value;
}

async function sayTo(text: string, from: Person) {
  const before = bot.connector.sent().length;
  const res = await bot.post(message(bot.serviceUrl, text, { from }));
  expect(res.status).toBe(200);
  return cardOf(bot.connector.sent()[before]);
}

/** Entities as [type, value, typed, source, flags]: what a reader of the stored incident sees. */
function rows(incident: Pick<Incident, "entities"> | undefined) {
  return (incident?.entities ?? []).map((e: Entity) => [e.type, e.value, e.typed ?? "", e.source, (e.flags ?? []).join(",")]);
}

/** Reports `payload` with the message extension as `from`, in a channel: the dialog opened, then sent as prefilled. */
async function reportMessage(payload: ReturnType<typeof messagePayload>, from: Person) {
  const opened = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from, where: "channel" }));
  expect(opened.status).toBe(200);
  const card = opened.body.task.value.card.content;
  const sent = await bot.post(
    submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from, where: "channel", payload }),
  );
  expect(sent.status).toBe(200);
  return sent.body;
}

const SMISHING =
  "Got a text from +44 7700 900123 saying a parcel is held. It linked to hxxps://paypa1-login[.]com/parcel?id=7 and " +
  "the page asked for my card. The sender also wrote from support(at)paypa1-login(dot)com";

/** A phishing message as Teams sends its HTML: the link's words say paypal.com, its target is elsewhere. */
const PHISHING_HTML =
  '<div><p>Your account is on hold. Sign in at <a href="https://paypa1-login.com/verify?u=megan">https://www.paypal.com/signin</a> ' +
  'today.</p><p>Questions: <a href="mailto:service@paypa1-login.com">PayPal Support</a>. Ref 203.0.113.7</p></div>';

const STORES: [string, () => Record<string, string>][] = [
  ["SQLite", () => ({})],
  ["Cosmos DB", () => cosmosEnv(cosmos.endpoint, TEST_COSMOS_KEY)],
];

describe.each(STORES)("on %s", (_store, env) => {
  beforeEach(async () => {
    bot = await startTestBot(env());
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("an employee's chat report: its indicators (defanged as typed), the reporter from the directory, and a receipt that counts them", async () => {
    const form = await sayTo(SMISHING, MEGAN);
    const receipt = await act("report.create", { ...form.actions[0].data, ...values(form) }, MEGAN);
    const [stored] = await bot.incidents();
    expect(rows(stored)).toEqual([
      ["user", "megan.bowen@contoso.com", "", "directory", ""],
      ["phone", "+447700900123", "+44 7700 900123", "extracted", ""],
      ["url", "https://paypa1-login.com/parcel?id=7", "hxxps://paypa1-login[.]com/parcel?id=7", "extracted", ""],
      ["domain", "paypa1-login.com", "", "extracted", ""],
      ["email", "support@paypa1-login.com", "support(at)paypa1-login(dot)com", "extracted", ""],
    ]);
    // The directory's name, never one from the text.
    expect(stored!.entities![0]).toMatchObject({ role: "related", name: "Megan Bowen (Teams)", identifier: "userPrincipalName" });
    expect(stored!.entities!.every((e) => e.role === "related")).toBe(true);
    expect(visibleText(receipt)).toContain("4 indicators were found in your report and passed to the SOC.");
  });

  it("a report without indicators: only the reporter, and the receipt says nothing of indicators", async () => {
    const form = await sayTo("Someone followed me through the badge door at building 3.", MEGAN);
    const receipt = await act("report.create", { ...form.actions[0].data, ...values(form) }, MEGAN);
    expect(rows((await bot.incidents())[0])).toEqual([["user", "megan.bowen@contoso.com", "", "directory", ""]]);
    expect(visibleText(receipt).join("\n")).not.toMatch(/indicator/);
  });

  it("a message reported with the message extension: link targets as well as their words, its author from the directory", async () => {
    const payload = messagePayload({
      body: { contentType: "html", content: PHISHING_HTML },
      from: { user: { userIdentityType: "aadUser", id: LEE.aadObjectId, displayName: "Not Lee, a name anyone can set" } },
    });
    const answer = await reportMessage(payload, MEGAN);
    expect(visibleText(answer.task.value.card.content)).toContain(
      "6 indicators were found in your report and passed to the SOC.",
    );
    const [stored] = await bot.incidents();
    expect(rows(stored)).toEqual([
      ["user", "megan.bowen@contoso.com", "", "directory", ""],
      ["user", "leeg@contoso.com", "", "directory", ""],
      // The link's target, which its words hide.
      ["url", "https://paypa1-login.com/verify?u=megan", "", "extracted", ""],
      ["domain", "paypa1-login.com", "", "extracted", ""],
      ["email", "service@paypa1-login.com", "", "extracted", ""],
      // The link's words.
      ["url", "https://www.paypal.com/signin", "", "extracted", ""],
      ["domain", "paypal.com", "", "extracted", ""],
      ["ip", "203.0.113.7", "", "extracted", "reserved"],
    ]);
    expect(stored!.entities![1]!.name).toBe("Lee Gu");
  });

  it("an analyst's form: the indicators in the title and description; the analyst is not an entity of it", async () => {
    const form = await sayTo("incident", ALEX);
    await act("incident.create", {
      ...form.actions[0].data,
      ...values(form),
      title: "Beaconing to 198.51.100.23",
      description: `Sandbox: dropper ${"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"} from hxxp://cdn[.]evil-files[.]net/a.bin`,
      severity: "High",
      status: "New",
    });
    expect(rows((await bot.incidents())[0])).toEqual([
      ["ip", "198.51.100.23", "", "extracted", "reserved"],
      [
        "file",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "extracted",
        "",
      ],
      ["url", "http://cdn.evil-files.net/a.bin", "hxxp://cdn[.]evil-files[.]net/a.bin", "extracted", ""],
      ["domain", "evil-files.net", "", "extracted", ""],
    ]);
  });

  it("an analyst's Create incident on a message: its link targets too", async () => {
    const payload = messagePayload({ body: { contentType: "html", content: PHISHING_HTML } });
    await reportMessage(payload, ALEX);
    const [stored] = await bot.incidents();
    expect(stored!.entryPoint).toBe("message-extension");
    expect(rows(stored).map((r) => r[1])).toEqual(
      expect.arrayContaining([
        "alex.wilber@contoso.com",
        "megan.bowen@contoso.com",
        "https://paypa1-login.com/verify?u=megan",
        "https://www.paypal.com/signin",
      ]),
    );
  });

  it("a message an app posted: the app named as the incident's source", async () => {
    const appId = "4a1b2c3d-0000-4000-8000-00000000d00c";
    const payload = messagePayload({
      body: { contentType: "html", content: "<p>Door 7 forced open. Controller 10.20.30.40</p>" },
      from: { user: null, application: { applicationIdentityType: "bot", id: appId, displayName: "Door controller" } },
    });
    await reportMessage(payload, MEGAN);
    const [stored] = await bot.incidents();
    expect(stored!.entities).toEqual([
      expect.objectContaining({ type: "user", value: "megan.bowen@contoso.com", source: "directory" }),
      { type: "app", identifier: "appId", value: appId, role: "related", source: "extracted", name: "Door controller" },
      { type: "ip", identifier: "address", value: "10.20.30.40", role: "related", source: "extracted", flags: ["private"] },
    ]);
  });

  it("a later report of the same message adds its reporter and what it found; an analyst's comment adds its indicators", async () => {
    const payload = messagePayload({ body: { contentType: "html", content: PHISHING_HTML } });
    await reportMessage(payload, MEGAN);
    const before = (await bot.incidents())[0]!;
    await reportMessage(payload, DIEGO);
    const [added] = await bot.incidents();
    expect(added!.reports).toHaveLength(1);
    const users = added!.entities!.filter((e) => e.type === "user").map((e) => e.value);
    expect(users).toEqual(["megan.bowen@contoso.com", "diegos@contoso.com"]);
    // The same indicators again are one entity each.
    expect(added!.entities).toHaveLength(before.entities!.length + 1);

    await act("triage.comment", {
      incidentId: added!.id,
      revision: added!.revision,
      commentText: "Payload hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, C2 at 198.51.100[.]23",
    });
    const [commented] = await bot.incidents();
    expect(rows(commented).slice(-2)).toEqual([
      ["file", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "", "extracted", ""],
      ["ip", "198.51.100.23", "198.51.100[.]23", "extracted", "reserved"],
    ]);
  });

  it("a message with thousands of links: at most 100 entities kept, the rest counted", async () => {
    const links = Array.from({ length: 3000 }, (_, i) => `<a href="https://host${i}.example-${i % 7}.com/p">link ${i}</a>`).join(
      " ",
    );
    const payload = messagePayload({ body: { contentType: "html", content: `<div><div><p>${links}</p></div></div>` } });
    await reportMessage(payload, MEGAN);
    const [stored] = await bot.incidents();
    expect(stored!.entities).toHaveLength(100);
    // The reporter ranks before what was extracted; 3,000 URLs and 7 registrable domains were found.
    expect(stored!.entities![0]!.type).toBe("user");
    expect(stored!.entitiesNotKept).toBe(1 + 3000 + 7 - 100);
  });
});
