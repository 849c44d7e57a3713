import type { AccessToken, TokenCredential } from "@azure/identity";
import { createGraphDirectory } from "../../src/adapters/graph-directory";
import { graphSettings, loadConfig } from "../../src/config";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, visibleText } from "../support/cards";
import { directoryData, ids } from "../support/directory-data";
import { FakeGraph } from "../support/fake-graph";
import { message, search, type Person } from "../support/teams";

/** Over HTTP, with the bot's directory on Microsoft Graph (the fake Graph server in test/support). */

const MEGAN: Person = { id: "29:megan", name: "Megan Bowen", aadObjectId: ids.megan }; // analyst (direct member)
const ALEX: Person = { id: "29:alex", name: "Alex Wilber", aadObjectId: ids.alex }; // analyst (nested group)
const LEE: Person = { id: "29:lee", name: "Lee Gu", aadObjectId: ids.lee }; // not an analyst

let fake: FakeGraph;
let bot: TestBot;

beforeEach(async () => {
  fake = await FakeGraph.start(directoryData);
  const credential: TokenCredential = {
    getToken: (): Promise<AccessToken> => Promise.resolve({ token: fake.token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const config = loadConfig({
    DIRECTORY: "graph",
    GRAPH_TENANT_ID: "contoso.onmicrosoft.com",
    GRAPH_CLIENT_ID: "0b5c9a4e-1111-4222-8333-444455556666",
    GRAPH_CLIENT_SECRET: "not-used-the-test-hands-a-credential",
    GRAPH_BASE_URL: fake.baseUrl,
    ANALYST_GROUP_ID: directoryData.analystGroupId,
    GRAPH_TIMEOUT_MS: "1000",
  });
  bot = await startTestBot({}, { directory: createGraphDirectory(graphSettings(config), { credential, fetch: fake.fetch }) });
});

afterEach(async () => {
  fake.delayMs = 0;
  await bot.stop();
  await fake.close();
});

async function owners(queryText: string, from: Person = MEGAN) {
  const res = await bot.post(search(bot.serviceUrl, "owners", queryText, { from }));
  expect(res.status).toBe(200);
  return res.body.value.results.map((r: { title: string }) => r.title);
}

it("finds users and groups in Graph for the owner typeahead", async () => {
  const titles = await owners("soc");
  expect(titles).toEqual(expect.arrayContaining(["SOC Tier 1 · group", "SOC Analysts · group"]));
  expect(fake.requests.some((r) => r.path === "/users")).toBe(true);
  expect(fake.requests.some((r) => r.path === "/groups")).toBe(true);
});

it("still answers the typeahead while Graph is stalled: earlier matches, or nothing, never an error", async () => {
  const warm = await owners("soc");
  fake.delayMs = 120_000; // far longer than this test may run: an answer proves the bot did not wait for Graph
  const degraded = await owners("soc t");
  expect(degraded.length).toBeGreaterThan(0);
  expect(warm).toEqual(expect.arrayContaining(degraded));
  expect(await owners("zz-nobody")).toEqual([]);
}, 15_000);

it("gives analysts the full form and other people the report form, by group membership in Graph", async () => {
  const formTitle = async (from: Person) => {
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "/incident", { from }));
    return visibleText(cardOf(bot.connector.sent()[0]))[0];
  };
  expect(await formTitle(MEGAN)).toBe("Create incident");
  expect(await formTitle(ALEX)).toBe("Create incident");
  expect(await formTitle(LEE)).toBe("Report suspicious activity");
  expect(fake.requests.filter((r) => r.path.endsWith("/checkMemberGroups")).length).toBeGreaterThan(0);
});
