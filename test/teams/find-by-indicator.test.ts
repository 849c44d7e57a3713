import { parseTypedEntity, type Entity } from "../../src/incidents/entities";
import type { IncidentStore } from "../../src/incidents/ports";
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { aForm } from "../support/builders";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { cardOf, values } from "../support/cards";
import { ALEX, DIEGO, LEE, MEGAN, composeQuery, execute, message, type Person } from "../support/teams";

/**
 * "Find incident" in the compose box with an indicator pasted, defanged or plain: the incidents holding it as an
 * entity are found (by its normalised value, through the store's findByEntity), through the visibility rule, on
 * both stores. ALEX is an analyst on the restricted-cases team, LEE an analyst who is not, MEGAN and DIEGO employees.
 *
 * The incidents are created over HTTP from the analysts' form; their entities are then written through the store
 * (what extraction and the form's evidence fields do once they land), as an analyst's edit would: a replace.
 */

/** The store the running bot uses (the service keeps it to itself). */
const storeOf = (b: TestBot) => (b.app.service as unknown as { store: IncidentStore }).store;

function entity(typed: string): Entity {
  const found = parseTypedEntity(typed, "related", "typed");
  if (!found.ok) throw new Error(found.error);
  return found.entity;
}

describe.each(["sqlite", "cosmos"] as const)("Find incident by a pasted indicator on STORE=%s", (store) => {
  let cosmos: CosmosTestServer | undefined;
  let bot: TestBot;

  beforeAll(async () => {
    if (store === "cosmos") cosmos = await startCosmosServer();
  });
  afterAll(async () => {
    await cosmos?.close();
  });
  beforeEach(async () => {
    bot = await startTestBot(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {});
  });
  afterEach(async () => {
    await bot.stop();
  });

  /** An incident from the analysts' form, then its entities as an edit writes them. */
  async function incident(from: Person, title: string, indicators: string[], restricted = false) {
    const form = aForm({ title, restricted: String(restricted) });
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", { ...form }, { from }));
    expect(res.status).toBe(200);
    const stored = await bot.app.service.get(form.submissionId);
    if (!stored) throw new Error(`${title} was not created`);
    const edited = await storeOf(bot).replace({ ...stored, entities: indicators.map(entity) }, stored.revision);
    expect(edited.ok).toBe(true);
    return stored;
  }

  const titles = async (text: string, from: Person) => {
    const res = await bot.post(composeQuery(bot.serviceUrl, text, { from }));
    expect(res.status).toBe(200);
    expect(res.body.composeExtension).toMatchObject({ type: "result", attachmentLayout: "list" });
    return res.body.composeExtension.attachments.map((a: any) => a.preview.content.title) as string[];
  };

  it("finds the incident holding a URL pasted defanged or plain, and a domain, an IP or a hash the same way", async () => {
    await incident(LEE, "Payroll phish", ["https://evil.example/login", "paypa1-login.com", "203.0.113.7"]);
    await incident(LEE, "Unrelated badge alarm", ["LAPTOP-7F3K"]);
    await incident(LEE, "Malware on a laptop", ["E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"]);

    for (const typed of [
      "hxxps://evil[.]example/login",
      "https://evil.example/login",
      "  hxxps[://]EVIL[.]example/login ",
      "paypa1-login[.]com",
      "PAYPA1-LOGIN.COM",
      "203.0.113[.]7",
      "ip: 203.0.113.7",
    ]) {
      expect({ typed, found: await titles(typed, LEE) }).toEqual({ typed, found: ["INC-1: Payroll phish"] });
    }
    expect(await titles("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ALEX)).toEqual(["INC-3: Malware on a laptop"]);
    // Exact: another page of the same site, or the site without its path, is another indicator.
    expect(await titles("hxxps://evil[.]example/logout", LEE)).toEqual([]);
    expect(await titles("https://evil.example", LEE)).toEqual([]);
    // Words and numbers still search as before, beside the indicator's hits.
    expect(await titles("payroll", LEE)).toEqual(["INC-1: Payroll phish"]);
    expect(await titles("INC-2", LEE)).toEqual(["INC-2: Unrelated badge alarm"]);
  });

  it("puts the indicator's incidents first, then those the words find, each once", async () => {
    await incident(LEE, "Reported link", ["paypa1-login.com"]);
    await incident(LEE, "Paypa1 login page on a com domain", []);
    // The domain as typed is also the words "paypa1", "login" and "com": the newer incident's title has them all.
    expect(await titles("paypa1-login.com", LEE)).toEqual(["INC-1: Reported link", "INC-2: Paypa1 login page on a com domain"]);
  });

  it("finds a restricted incident by its URL only for the restricted-cases team: not for another analyst or an employee", async () => {
    const open = await incident(LEE, "Phish to finance", ["https://paypa1-login.com/verify"]);
    await incident(ALEX, "Board member's account", ["https://paypa1-login.com/verify", "https://ceo-only.example/x"], true);
    const pasted = "hxxps://paypa1-login[.]com/verify";

    expect(await titles(pasted, ALEX)).toEqual(["INC-2: Board member's account", "INC-1: Phish to finance"]);
    expect(await titles(pasted, LEE)).toEqual(["INC-1: Phish to finance"]);
    expect(await titles("hxxps://ceo-only[.]example/x", LEE)).toEqual([]);
    expect(await titles("https://ceo-only.example/x", LEE)).toEqual([]);
    expect(await titles("hxxps://ceo-only[.]example/x", ALEX)).toEqual(["INC-2: Board member's account"]);
    for (const employee of [MEGAN, DIEGO]) expect(await titles(pasted, employee)).toEqual([]);
    expect(open.restricted).toBeUndefined();

    // Lee's own restricted incident: he sees it as its reporter (his words), never by an entity in it.
    const own = await incident(LEE, "Lee's need-to-know case", ["https://lee-case.example/doc"], true);
    expect(own.restricted).toBe(true);
    expect(await titles("need-to-know", LEE)).toEqual(["INC-3: Lee's need-to-know case"]);
    expect(await titles("hxxps://lee-case[.]example/doc", LEE)).toEqual([]);
    expect(await titles("hxxps://lee-case[.]example/doc", ALEX)).toEqual(["INC-3: Lee's need-to-know case"]);
  });

  it("does not find an employee's own report by an indicator: an entity may be an analyst's, and the report's words still find it", async () => {
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "I got a text from a number I don't know linking to a payroll page", { from: MEGAN }));
    const card = cardOf(bot.connector.sent()[0]);
    const res = await bot.post(execute(bot.serviceUrl, "report.create", { ...card.actions[0].data, ...values(card) }, { from: MEGAN }));
    expect(res.status).toBe(200);
    const [report] = await bot.incidents("", 1);
    expect(report?.entryPoint).toBe("chat-report");
    // What an analyst added while triaging: the link, and the person it targeted.
    const entities = [entity("https://paypa1-login.com/verify"), entity("user: ceo@contoso.com")];
    expect((await storeOf(bot).replace({ ...report!, entities }, report!.revision)).ok).toBe(true);

    expect(await titles("hxxps://paypa1-login[.]com/verify", LEE)).toEqual([`INC-1: ${report!.title}`]);
    expect(await titles("ceo@contoso.com", LEE)).toEqual([`INC-1: ${report!.title}`]);
    expect(await titles("hxxps://paypa1-login[.]com/verify", MEGAN)).toEqual([]);
    expect(await titles("ceo@contoso.com", MEGAN)).toEqual([]);
    expect(await titles("payroll", MEGAN)).toEqual([`INC-1: ${report!.title}`]);
  });

  it("stops finding an incident by an indicator an edit removed", async () => {
    await incident(LEE, "Phish to finance", ["https://evil.example/login", "203.0.113.7"]);
    expect(await titles("hxxps://evil[.]example/login", LEE)).toEqual(["INC-1: Phish to finance"]);
    const stored = (await bot.app.service.search("INC-1", 1, { actor: { name: "Test" }, analyst: true, restrictedTeam: true }))[0]!.incident;
    expect((await storeOf(bot).replace({ ...stored, entities: [entity("203.0.113.7")] }, stored.revision)).ok).toBe(true);
    expect(await titles("hxxps://evil[.]example/login", LEE)).toEqual([]);
    expect(await titles("203.0.113[.]7", LEE)).toEqual(["INC-1: Phish to finance"]);
  });
});
