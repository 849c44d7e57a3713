import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openCosmosStore } from "../../src/adapters/cosmos-store";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { cosmosSettings, loadConfig } from "../../src/config";
import type { Incident } from "../../src/incidents/model";
import type { IncidentStore } from "../../src/incidents/ports";
import { cosmosEnv } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { spawnBot, type ChildBot } from "../support/child-bot";
import { startConnector, type FakeConnector } from "../support/connector";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { startFakeSentinel, type FakeSentinel, type StoredIncident } from "../support/fake-sentinel";
import { until } from "../support/until";
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

/*
 * Every incident mirrored to Microsoft Sentinel and back (issue 13), the whole path: the bot as
 * `npm start` runs it, in its own process, configured by its environment only: the Sentinel settings
 * point at the test Sentinel server (https, its certificate trusted through NODE_EXTRA_CA_CERTS) and
 * the managed identity is App Service's local endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER). Nothing
 * in these tests hands the bot a credential object. Teams is the fake connector.
 */

jest.setTimeout(120_000);

const WS = "test-workspace";
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(url: string, activity: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(activity) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let sentinel: FakeSentinel;
let connector: FakeConnector;
let dir: string;
const bots: ChildBot[] = [];

beforeEach(async () => {
  sentinel = await startFakeSentinel();
  connector = await startConnector();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-"));
});

afterEach(async () => {
  for (const bot of bots.splice(0)) {
    if (bot.child.exitCode === null && bot.child.signalCode === null) {
      bot.child.kill("SIGKILL");
      await bot.exited;
    }
  }
  await connector.close();
  await sentinel.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SQLITE_PATH: path.join(dir, "incidents.db"),
    WORKSPACE_ID: WS,
    RATE_LIMIT_CREATES_PER_MINUTE: "10000",
    RATE_LIMIT_ACTIONS_PER_MINUTE: "10000",
    SENTINEL_SYNC_SECONDS: "1",
    SENTINEL_POLL_SECONDS: "5",
    SENTINEL_REQUEST_TIMEOUT_MS: "2000",
    ...sentinel.env(),
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}): Promise<ChildBot> {
  const bot = await spawnBot(baseEnv(extra));
  bots.push(bot);
  return bot;
}

/** What the bot stored (read from its SQLite file, as another process would). */
async function stored(id: string): Promise<Incident | undefined> {
  const store = new SqliteIncidentStore(path.join(dir, "incidents.db"));
  try {
    return await store.get(WS, id);
  } finally {
    await store.close();
  }
}

async function act(bot: ChildBot, verb: string, data: Record<string, unknown>, from: Person = ALEX) {
  const res = await post(bot.url, execute(connector.url, verb, data, { from }));
  expect(res.status).toBe(200);
  return res.body.value;
}

/** Alex types an incident into the form (the id is the form's). */
async function create(bot: ChildBot, fields: Record<string, unknown>, from: Person = ALEX): Promise<string> {
  const id = randomUUID();
  await act(bot, "incident.create", { submissionId: id, title: "Untitled", ...fields }, from);
  return id;
}

/** Alex edits the incident through the edit form, changing `changes`. */
async function edit(bot: ChildBot, id: string, changes: Record<string, unknown>) {
  const form = await act(bot, "triage.edit", { incidentId: id });
  return act(bot, "incident.update", { ...form.actions[0].data, ...values(form), ...changes });
}

function inSentinel(id: string): StoredIncident | undefined {
  return sentinel.incidents.get(id);
}

/** The incident once Sentinel holds the bot's latest revision of it. */
async function synced(id: string, ceilingMs?: number): Promise<Incident> {
  return until(
    `incident ${id} in sync with Sentinel`,
    async () => {
      const incident = await stored(id);
      const done = incident?.sentinel?.etag && incident.sentinel.revision === incident.revision && !incident.sentinel.claimUntilUtc;
      return done ? incident : undefined;
    },
    ceilingMs,
  );
}

/** Waits until the message `messageId` is redrawn with a card whose visible text holds `words`; that card. */
function redrawn(messageId: string, words: string): Promise<any> {
  return until(`message ${messageId} redrawn with "${words}"`, () =>
    connector
      .updated()
      .filter((u) => u.id === messageId)
      .map((u) => cardOf(u.activity))
      .find((card) => visibleText(card).join("\n").includes(words)),
  );
}

async function setTriageChannel(bot: ChildBot): Promise<void> {
  const res = await post(bot.url, message(connector.url, "triage here", { from: ALEX, where: "channel" }));
  expect(res.status).toBe(200);
}

describe("mirrored to Sentinel", () => {
  it("creates each new incident in Sentinel under its own id, with its fields, owner, tags and where it came from", async () => {
    const bot = await start();
    const id = await create(bot, {
      title: "  Phishing wave against finance  ",
      description: "Three people got the same fake invoice mail.",
      severity: "High",
      status: "Active",
      owner: "me",
      tags: "phishing, finance",
    });
    const incident = await synced(id);
    const there = inSentinel(id)!;
    expect(there.properties).toMatchObject({
      title: "Phishing wave against finance",
      description: "Three people got the same fake invoice mail.",
      severity: "High",
      status: "Active",
      owner: { objectId: ALEX.aadObjectId, assignedTo: expect.stringContaining("Alex Wilber"), ownerType: "User" },
      labels: [
        { labelName: "phishing", labelType: "User" },
        { labelName: "finance", labelType: "User" },
      ],
    });
    expect(there.properties.owner.userPrincipalName ?? there.properties.owner.email).toBeTruthy();
    expect(there.properties).not.toHaveProperty("classification");
    // Sentinel's number and link are kept with the incident.
    expect(incident.sentinel).toMatchObject({ incidentNumber: there.properties.incidentNumber, incidentUrl: there.properties.incidentUrl });
    // Who reported it and how, once.
    const comments = [...there.comments.values()].map((c) => c.message);
    expect(comments).toEqual([expect.stringMatching(/^Reported in Microsoft Teams by Alex Wilber on .* UTC, through the incident form .*INC-1\./)]);
    // One PUT of the incident and one of its comment; the token asked for once.
    expect(sentinel.calls("PUT").map((c) => c.status)).toEqual([201, 201]);
    expect(sentinel.tokensIssued()).toBe(1);
    expect(sentinel.calls().every((c) => c.query["api-version"] === "2025-09-01")).toBe(true);
  });

  it("closes in Sentinel with the classification, reason and closing comment, after an assignment, each with the etag last seen", async () => {
    const bot = await start();
    const id = await create(bot, { title: "Odd sign-in from abroad", tags: "identity" });
    let incident = await synced(id);
    const firstEtag = incident.sentinel!.etag;
    await act(bot, "triage.assign", { incidentId: id, revision: incident.revision });
    incident = await synced(id);
    await edit(bot, id, { status: "Closed", closing: "BenignPositive.SuspiciousButExpected", closingComment: "The user was travelling." });
    incident = await synced(id);
    const puts = sentinel.calls("PUT", /incidents\/[^/]+$/);
    expect(puts.map((p) => p.status)).toEqual([201, 200, 200]);
    // Each update names the etag Sentinel gave the write before it.
    expect(puts[1]!.body.etag).toBe(firstEtag);
    expect(puts[2]!.body.etag).not.toBe(firstEtag);
    expect(inSentinel(id)!.properties).toMatchObject({
      status: "Closed",
      classification: "BenignPositive",
      classificationReason: "SuspiciousButExpected",
      classificationComment: "The user was travelling.",
      owner: { objectId: ALEX.aadObjectId },
    });
    expect(inSentinel(id)!.etag).toBe(incident.sentinel!.etag);
    // Requests per update: one PUT each (no reads when nothing changed in Sentinel).
    expect(sentinel.calls("GET")).toHaveLength(0);
  });

  it("sends a comment or a task alone without writing the incident again", async () => {
    const bot = await start();
    const id = await create(bot, { title: "Printer asks for domain credentials" });
    let incident = await synced(id);
    const before = sentinel.calls("PUT").length;
    await act(bot, "triage.comment", { incidentId: id, revision: incident.revision, commentText: "Firmware is two years old.", commentShared: "false" });
    incident = await synced(id);
    await act(bot, "triage.task", { incidentId: id, revision: incident.revision, taskTitle: "Update the printer's firmware" });
    incident = await synced(id);
    const puts = sentinel.calls("PUT").slice(before);
    expect(puts.map((p) => p.path.split("/").at(-2))).toEqual(["comments", "tasks"]);
    expect([...inSentinel(id)!.comments.values()].map((c) => c.message)).toContain("Alex Wilber in Teams: Firmware is two years old.");
    expect([...inSentinel(id)!.tasks.values()]).toEqual([
      expect.objectContaining({ title: "Update the printer's firmware", status: "New" }),
    ]);
  });

  it("creates an incident deleted in Sentinel again with its next change", async () => {
    const bot = await start();
    const id = await create(bot, { title: "Deleted over there", severity: "Low" });
    await synced(id);
    sentinel.incidents.delete(id);
    await edit(bot, id, { severity: "Medium" });
    await synced(id);
    expect(inSentinel(id)!.properties).toMatchObject({ title: "Deleted over there", severity: "Medium" });
    // The update found nothing (404), so it was written as new.
    expect(sentinel.calls("PUT", /incidents\/[^/]+$/).map((c) => c.status)).toEqual([201, 404, 201]);
  });

  it("keeps a field changed in Sentinel, applies the field changed in Teams, and brings Sentinel's home", async () => {
    const bot = await start();
    const id = await create(bot, { title: "USB stick found in the car park", severity: "Medium" });
    await synced(id);
    // Someone raises the severity in the Sentinel portal; Alex renames it in Teams before any poll.
    sentinel.editInPortal(id, { severity: "High" });
    await edit(bot, id, { title: "USB stick found in the visitors' car park" });
    const incident = await until("the merged incident stored", async () => {
      const i = await synced(id);
      return i.severity === "High" && i;
    });
    expect(inSentinel(id)!.properties).toMatchObject({ title: "USB stick found in the visitors' car park", severity: "High" });
    expect(incident.title).toBe("USB stick found in the visitors' car park");
    expect(incident.sentinel?.conflicts ?? []).toEqual([]);
    // The stale etag was refused once (409), Sentinel's copy read, the merge written.
    expect(sentinel.calls("PUT", /incidents\/[^/]+$/).map((c) => c.status)).toEqual([201, 409, 200]);
    expect(sentinel.calls("GET", /incidents\/[^/]+$/)).toHaveLength(1);
  });

  it("reports a field changed on both sides at once on the triage card, keeping Teams' value, never silently", async () => {
    const bot = await start();
    await setTriageChannel(bot);
    const id = await create(bot, { title: "Badge cloned?", severity: "Medium" });
    const first = await synced(id);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    sentinel.editInPortal(id, { severity: "Low" });
    await edit(bot, id, { severity: "High" });
    const incident = await until("the conflict recorded", async () => {
      const i = await synced(id);
      return (i.sentinel?.conflicts?.length ?? 0) > 0 && i;
    });
    expect(incident.revision).toBeGreaterThan(first.revision);
    expect(inSentinel(id)!.properties.severity).toBe("High");
    expect(incident.severity).toBe("High");
    expect(incident.sentinel!.conflicts).toEqual([
      "Severity was changed in Sentinel (to Low) and in Teams (to High) at the same time: Teams' High was kept.",
    ]);
    const text = visibleText(await redrawn(postId, "changed in Sentinel (to Low)")).join("\n");
    expect(text).toContain("Teams' High was kept.");
  });

  it("shows Sentinel's number and an Open in Sentinel button on the triage card and Alex's confirmation once synced", async () => {
    const bot = await start();
    await setTriageChannel(bot);
    const id = await create(bot, { title: "Shared mailbox forwarding rule" });
    const incident = await synced(id);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    const card = await redrawn(postId, `Incident ${incident.sentinel!.incidentNumber}`);
    const open = (card.actions as any[]).find((a) => a.id === "openInSentinel");
    expect(open).toMatchObject({ type: "Action.OpenUrl", title: "Open in Sentinel", url: incident.sentinel!.incidentUrl });
    // The confirmation in the message Alex's form was in ("card-message-1") is redrawn the same way.
    const confirmation = await redrawn("card-message-1", `Incident ${incident.sentinel!.incidentNumber}`);
    expect(visibleText(confirmation)[0]).toBe("Incident INC-1 created");
    expect((confirmation.actions as any[]).find((a) => a.id === "openInSentinel")?.url).toBe(incident.sentinel!.incidentUrl);
  });
});

describe("evidence and reports as comments", () => {
  it("writes the message evidence and each later report as comments with fixed ids, never twice even when a write is retried", async () => {
    const bot = await start();
    const payload = messagePayload();
    const report = async (who: Person) => {
      const dialog = await post(bot.url, fetchTaskFromMessage(connector.url, payload, { from: who, where: "channel" }));
      expect(dialog.status).toBe(200);
      const card = dialog.body.task.value.card.content;
      const res = await post(bot.url, submitActionFromMessage(connector.url, { ...card.actions[0].data, ...values(card) }, { from: who, where: "channel", payload }));
      expect(res.status).toBe(200);
      return card.actions[0].data.submissionId as string;
    };
    const id = await report(DIEGO);
    await synced(id);
    // The second report's comment fails once (503): the push is retried and writes everything again.
    sentinel.failNext(1, { kind: "status", status: 503 }, /\/comments\//);
    await report(MEGAN);
    const incident = await synced(id);
    expect(incident.reports).toHaveLength(1);
    const all = [...inSentinel(id)!.comments.entries()].map(([, c]) => c.message);
    // The message's entities (its link target and domain, its author and both reporters) go in as one table of
    // their own; Megan's report adds no entity that was not there (she wrote the message), so no second table.
    const tables = all.filter((m) => m.startsWith("<p>Entities of INC-1"));
    expect(tables).toHaveLength(1);
    expect(tables[0]).toContain("hxxps://evil[.]example/");
    expect(tables[0]).not.toContain("https://evil.example");
    const comments = all.filter((m) => !tables.includes(m));
    expect(comments).toHaveLength(2);
    const [created, added] = comments;
    expect(created).toMatch(/^Reported in Microsoft Teams by Diego Siciliani .* through Create incident on a Teams message/);
    expect(created).toContain("Evidence: a Teams message by Megan Bowen, sent 2026-11-26 02:14 UTC, https://teams.microsoft.com/l/message/");
    expect(created).toMatch(/SHA-256 of its body as Teams sent it: [0-9a-f]{64}\./);
    expect(added).toMatch(/^Also reported in Microsoft Teams by Megan Bowen/);
    // The failed comment was written again under the same id: more PUTs than comments.
    expect(sentinel.calls("PUT", /\/comments\//).length).toBeGreaterThan(2);
    expect(sentinel.incidents.size).toBe(1);
  });
});

describe("changes made in Sentinel come back", () => {
  it("reach the store, the reporter and the triage card (updated in place) within a poll", async () => {
    const bot = await start();
    await setTriageChannel(bot);
    const sentBefore = connector.sent().length;
    expect((await post(bot.url, message(connector.url, "Someone asked for my password on the phone.", { from: MEGAN }))).status).toBe(200);
    const form = cardOf(connector.sent()[sentBefore]);
    await act(bot, "report.create", { ...form.actions[0].data, ...values(form) }, MEGAN);
    const id = form.actions[0].data.submissionId as string;
    await synced(id);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    const changedAt = Date.now();
    sentinel.editInPortal(id, {
      status: "Closed",
      classification: "TruePositive",
      classificationReason: "SuspiciousActivity",
      classificationComment: "Vishing; the number is blocked.",
      owner: { objectId: LEE.aadObjectId, assignedTo: "Lee Gu", ownerType: "User" },
      labels: [{ labelName: "vishing", labelType: "User" }],
    });
    const incident = await until("Sentinel's change in the store", async () => {
      const i = await stored(id);
      return i?.status === "Closed" && i;
    });
    const seconds = (Date.now() - changedAt) / 1000;
    expect(incident).toMatchObject({
      status: "Closed",
      classification: "TruePositive",
      classificationReason: "SuspiciousActivity",
      classificationComment: "Vishing; the number is blocked.",
      owner: { objectId: LEE.aadObjectId, assignedTo: "Lee Gu" },
      labels: [{ labelName: "vishing", labelType: "User" }],
    });
    // Sentinel already has it: nothing is sent back (no echo).
    expect(incident.sentinel!.revision).toBe(incident.revision);
    expect(incident.sentinel!.etag).toBe(inSentinel(id)!.etag);
    // The triage card is redrawn in place, the reporter is told.
    await redrawn(postId, "Lee Gu");
    await until("Megan told", () =>
      connector.calls.some(
        (c) => c.method === "POST" && c.body?.recipient?.id === MEGAN.id && JSON.stringify(c.body).includes("is closed"),
      ),
    );
    const putsAfter = sentinel.calls("PUT", /incidents\/[^/]+$/).filter((c) => c.at >= changedAt);
    expect(putsAfter).toHaveLength(0);
    // Measured, not asserted (2 shared cores): how long the change took to arrive, against a 5 s poll.
    console.info(`a change made in Sentinel reached the store after ${seconds.toFixed(1)} s (poll every 5 s)`);
  });

  it("name an owner set there from the directory by object id: Sentinel's assignedTo text reaches no notice and no card", async () => {
    const CRAFTED = "IT Support. Your account is locked: sign in at https://evil.example/login";
    const bot = await start();
    await setTriageChannel(bot);
    const sentBefore = connector.sent().length;
    expect((await post(bot.url, message(connector.url, "Someone asked for my password on the phone.", { from: MEGAN }))).status).toBe(200);
    const form = cardOf(connector.sent()[sentBefore]);
    await act(bot, "report.create", { ...form.actions[0].data, ...values(form) }, MEGAN);
    const id = form.actions[0].data.submissionId as string;
    await synced(id);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    const toldMegan = (words: string) =>
      until(`Megan told "${words}"`, () =>
        connector.calls.some((c) => c.method === "POST" && c.body?.recipient?.id === MEGAN.id && JSON.stringify(c.body).includes(words)),
      );

    // A person the directory knows, with crafted words as the name: the directory's name.
    sentinel.editInPortal(id, { owner: { objectId: LEE.aadObjectId!.toUpperCase(), assignedTo: CRAFTED, email: "it@evil.example", ownerType: "User" } });
    const named = await until("Sentinel's owner in the store", async () => {
      const i = await stored(id);
      return i?.owner?.objectId === LEE.aadObjectId && i;
    });
    expect(named.owner).toEqual({ objectId: LEE.aadObjectId, ownerType: "User", assignedTo: "Lee Gu", email: "leeg@contoso.com", userPrincipalName: "leeg@contoso.com" });
    await redrawn(postId, "Lee Gu");
    await toldMegan("Lee Gu from the SOC is now handling your report");

    // An object id the directory does not know: "a SOC analyst".
    const unknown = "0badc0de-0000-4000-8000-000000000001";
    sentinel.editInPortal(id, { owner: { objectId: unknown, assignedTo: CRAFTED, ownerType: "User" } });
    const unnamed = await until("the unknown owner in the store", async () => {
      const i = await stored(id);
      return i?.owner?.objectId === unknown && i;
    });
    expect(unnamed.owner).toEqual({ objectId: unknown, ownerType: "User", assignedTo: "a SOC analyst" });
    await redrawn(postId, "a SOC analyst");
    await toldMegan("A SOC analyst is now handling your report");
    const view = await act(bot, "triage.view", { incidentId: id });
    expect(visibleText(view).join("\n")).toContain("a SOC analyst");

    // Nothing the bot sent or updated in Teams holds Sentinel's text, nor anything it stored.
    for (const call of connector.calls) expect(JSON.stringify(call.body ?? "")).not.toMatch(/account is locked|evil\.example/);
    expect(JSON.stringify(view)).not.toMatch(/account is locked|evil\.example/);
    expect(JSON.stringify(await stored(id))).not.toMatch(/account is locked|evil\.example/);
  });

  it("bring an incident home although Sentinel holds values this bot does not know yet, and no request holds a label's type", async () => {
    const bot = await start();
    await setTriageChannel(bot);
    const id = await create(bot, { title: "Odd values", severity: "High", tags: "phishing" });
    await synced(id);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    sentinel.editInPortal(id, {
      title: "Renamed in Sentinel",
      severity: "Critical",
      status: "Investigating",
      classification: "TruePositiveConfirmed",
      labels: [{ labelName: "vishing", labelType: "Suggested" }],
    });
    const home = await until("Sentinel's other changes in the store", async () => {
      const i = await stored(id);
      return i?.title === "Renamed in Sentinel" && i;
    });
    expect(home).toMatchObject({ severity: "High", status: "New", labels: [{ labelName: "vishing" }] });
    const card = visibleText(await redrawn(postId, "Renamed in Sentinel")).join("\n");
    expect(card).toContain('Sentinel\'s severity "Critical" is not one this bot knows yet: Teams keeps High.');
    expect(card).toContain('Sentinel\'s status "Investigating", "TruePositiveConfirmed" is not one this bot knows yet: Teams keeps New.');
    // Still mirrored: a change made in Teams reaches Sentinel.
    await edit(bot, id, { description: "Added in Teams." });
    await until("the edit in Sentinel", () => inSentinel(id)?.properties.description === "Added in Teams.");
    expect(inSentinel(id)!.properties).toMatchObject({ title: "Renamed in Sentinel", severity: "High", status: "New" });
    const puts = sentinel.calls("PUT");
    expect(puts.length).toBeGreaterThan(1);
    for (const put of puts) expect(JSON.stringify(put.body)).not.toContain("labelType");
  });

  it("leaves incidents this bot did not create alone", async () => {
    const bot = await start();
    const id = await create(bot, { title: "Ours" });
    await synced(id);
    // An incident made in Sentinel itself (an analytics rule, another tool).
    sentinel.incidents.set("99999999-0000-4000-8000-000000000001", {
      name: "99999999-0000-4000-8000-000000000001",
      etag: '"theirs"',
      properties: { title: "Theirs", severity: "Low", status: "New", incidentNumber: 999, lastModifiedTimeUtc: new Date().toISOString() },
      comments: new Map(),
      tasks: new Map(),
    });
    sentinel.editInPortal(id, { severity: "Low" });
    await until("our change brought home", async () => (await stored(id))?.severity === "Low");
    expect(await stored("99999999-0000-4000-8000-000000000001")).toBeUndefined();
    expect(sentinel.calls("PUT", /99999999/)).toHaveLength(0);
  });
});

describe("when Sentinel does not take it", () => {
  it("shows Sentinel's reason to analysts as Not in Sentinel, and does not retry until the incident changes", async () => {
    const bot = await start();
    await setTriageChannel(bot);
    const reason = "The title contains a character Sentinel does not accept.";
    sentinel.failNext(1, { kind: "status", status: 400, message: reason }, /incidents\/[^/]+$/);
    const id = await create(bot, { title: "Refused once" });
    const rejected = await until("the refusal recorded", async () => (await stored(id))?.sentinel?.rejected);
    expect(rejected.reason).toBe(reason);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    const text = visibleText(await redrawn(postId, "Not in Sentinel:")).join("\n");
    expect(text).toContain(`Not in Sentinel: ${reason}`);
    const puts = () => sentinel.calls("PUT", /incidents\/[^/]+$/).length;
    const before = puts();
    await wait(3000); // three sweeps (SENTINEL_SYNC_SECONDS=1): none tries it again
    expect(puts()).toBe(before);
    // A change to the incident is a new revision: sent again, and taken.
    await act(bot, "triage.assign", { incidentId: id, revision: (await stored(id))!.revision });
    const incident = await synced(id);
    expect(incident.sentinel!.rejected).toBeUndefined();
    expect(inSentinel(id)!.properties).toMatchObject({ title: "Refused once", owner: { objectId: ALEX.aadObjectId } });
  });

  it("says which role to grant on which workspace when the identity lacks it, and syncs once granted", async () => {
    const bot = await start();
    await setTriageChannel(bot);
    sentinel.revokeRole();
    const id = await create(bot, { title: "Before the role was granted" });
    const why = await until("the refusal recorded", async () => (await stored(id))?.sentinel?.lastError);
    expect(why).toContain('"Microsoft Sentinel Responder" role on workspace soc-workspace');
    expect(why).toContain(`--scope /subscriptions/${sentinel.subscriptionId}/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-workspace`);
    const postId = await until("the triage post", async () => (await stored(id))?.triage?.messageId);
    const text = visibleText(await redrawn(postId, "Not in Sentinel yet:")).join("\n");
    expect(text).toContain("Microsoft Sentinel Responder");
    sentinel.grant();
    // Retried with backoff (5 s, 10 s, ...): arrives without any further activity.
    const incident = await synced(id, 90_000);
    expect(incident.sentinel!.lastError).toBeUndefined();
    expect(inSentinel(id)!.properties.title).toBe("Before the role was granted");
  });
});

describe("nothing lost, nothing doubled", () => {
  it("200 concurrent creates: exactly 200 incidents in Sentinel, each with its comment once", async () => {
    const bot = await start();
    const ids = Array.from({ length: 200 }, () => randomUUID());
    const answers = await Promise.all(ids.map((id, i) => post(bot.url, execute(connector.url, "incident.create", { submissionId: id, title: `Burst ${i}`, tags: "burst" }, { from: ALEX }))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await until("all 200 in Sentinel", () => sentinel.incidents.size === 200 && [...sentinel.incidents.values()].every((i) => i.comments.size === 1), 120_000);
    expect(new Set([...sentinel.incidents.keys()])).toEqual(new Set(ids));
    const numbers = [...sentinel.incidents.values()].map((i) => i.properties.incidentNumber);
    expect(new Set(numbers).size).toBe(200);
    // One incident PUT each unless a retry was needed; never a second incident.
    expect(sentinel.calls("PUT", /incidents\/[^/]+$/).filter((c) => c.status === 201)).toHaveLength(200);
  });

  it("429, 503, stalls and dropped connections: every incident ends in Sentinel once, with its comment once", async () => {
    const bot = await start();
    sentinel.failNext(3, { kind: "status", status: 429, retryAfter: "1" });
    sentinel.failNext(3, { kind: "status", status: 503 });
    sentinel.failNext(2, { kind: "drop" });
    sentinel.failNext(2, { kind: "stall", ms: 3000 });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await create(bot, { title: `Storm ${i}` }));
    const started = Date.now();
    for (const id of ids) await synced(id, 120_000);
    console.info(`10 incidents through 10 faults: all in Sentinel ${((Date.now() - started) / 1000).toFixed(1)} s after the last create`);
    expect(sentinel.incidents.size).toBe(10);
    for (const id of ids) expect(inSentinel(id)!.comments.size).toBe(1);
    const statuses = sentinel.requests.map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(statuses.filter((s) => s === 503)).toHaveLength(3);
    expect(statuses.filter((s) => s === -1)).toHaveLength(2);
    // Retry-After (1 s) was honoured: the next try of what met a 429 came a second later or more.
    for (const refused of sentinel.requests.filter((r) => r.status === 429)) {
      const next = sentinel.requests.find((r) => r.at > refused.at && r.method === refused.method && r.path === refused.path);
      expect(next!.at - refused.at).toBeGreaterThanOrEqual(990);
    }
  });

  it("SIGKILL in the middle of syncing, then a restart: every change arrives, none twice", async () => {
    const bot = await start();
    // Sentinel hangs: pushes are under way (claimed) when the bot is killed.
    sentinel.failAll({ kind: "stall", ms: 1500 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await create(bot, { title: `Before the crash ${i}`, tags: "crash" }));
    await until("pushes under way", () => sentinel.requests.length >= 3);
    bot.child.kill("SIGKILL");
    await bot.exited;
    sentinel.heal();
    const during = sentinel.incidents.size;
    await start();
    // The dead instance's claims lapse after 6 x SENTINEL_REQUEST_TIMEOUT_MS (12 s here); the new one takes them up then.
    for (const id of ids) await synced(id, 150_000);
    expect(sentinel.incidents.size).toBe(5);
    for (const id of ids) expect(inSentinel(id)!.comments.size).toBe(1);
    console.info(`${during} of 5 reached Sentinel before the kill; all 5 after the restart`);
  }, 240_000);
});

describe("on Cosmos DB, two instances", () => {
  let cosmos: CosmosTestServer;
  beforeAll(async () => {
    cosmos = await startCosmosServer();
  });
  afterAll(async () => {
    await cosmos.close();
  });

  it("each change is synced, and no incident or comment is doubled", async () => {
    const env = { ...cosmosEnv(cosmos.endpoint, TEST_COSMOS_KEY) };
    const a = await start(env);
    const b = await start(env);
    const store: IncidentStore = await openCosmosStore(cosmosSettings(loadConfig({ ...baseEnv(env) })));
    try {
      const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => create(i % 2 ? a : b, { title: `Shared ${i}` })));
      // Edits through the other instance.
      for (const [i, id] of ids.slice(0, 6).entries()) {
        const incident = await until("created", () => store.get(WS, id));
        await act(i % 2 ? b : a, "triage.assign", { incidentId: id, revision: incident.revision });
      }
      await until("every change in Sentinel", async () => {
        for (const id of ids) {
          const incident = await store.get(WS, id);
          if (!incident?.sentinel?.etag || incident.sentinel.revision !== incident.revision) return false;
        }
        return true;
      });
      expect(sentinel.incidents.size).toBe(20);
      for (const id of ids) expect(inSentinel(id)!.comments.size).toBe(1);
      for (const id of ids.slice(0, 6)) expect(inSentinel(id)!.properties.owner.objectId).toBe(ALEX.aadObjectId);
      expect(sentinel.calls("PUT", /incidents\/[^/]+$/).filter((c) => c.status === 201)).toHaveLength(20);
    } finally {
      await store.close();
    }
  });
});

describe("the start-up log", () => {
  it("says when the sync is off and how to turn it on, and when it is on, which workspace", async () => {
    const off = await spawnBot({ SQLITE_PATH: path.join(dir, "off.db") });
    bots.push(off);
    const on = await start();
    // Both lines are written before "bot listening", which spawnBot waited for.
    expect(off.stdout()).toContain("Sentinel sync: off (set SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and SENTINEL_WORKSPACE_NAME");
    expect(on.stdout()).toMatch(/"workspace":"soc-workspace".*"msg":"Sentinel sync: on/);
  });
});
