import { randomUUID } from "node:crypto";
import { LocalDirectory } from "../../src/adapters/local-directory";
import { SentinelClient, type SentinelSettings } from "../../src/adapters/sentinel-client";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { SentinelError } from "../../src/incidents/errors";
import { mirroredFields, mirrorState, newLink, SentinelMirror, type MirrorOptions } from "../../src/incidents/mirror";
import type { Incident, SentinelLink } from "../../src/incidents/model";
import { checkEntity, defang, type Entity, type EntityRole, type EntitySource, type EntityType } from "../../src/incidents/entities";
import { entitiesMessage } from "../../src/incidents/mirror-entities";
import { tagWindow } from "../../src/incidents/tags";
import { aNewIncident, labels, tagTotals } from "../support/builders";
import { API_VERSION, type FakeSentinel, inProcessClient, startFakeSentinel } from "../support/fake-sentinel";
import { until } from "../support/until";

/**
 * The mirror on the real SQLite store and the real REST client, against the Sentinel test server
 * over https. The token comes from the server's App Service-style identity endpoint through a small
 * credential (a stand-in for @azure/identity's ManagedIdentityCredential). Time is the mirror's
 * clock, moved by the tests; the test server stamps its changes with the same clock.
 */

const WS = "ws-sentinel";
const MEGAN = { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen" };
const ADELE = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "User" as const, assignedTo: "Adele Vance" };
/** The directory the mirror names owners set in Sentinel from. */
const DIRECTORY = new LocalDirectory({
  users: [{ id: ADELE.objectId, displayName: "Adele Vance", mail: "adelev@contoso.com" }],
  groups: [{ id: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e02", displayName: "SOC Tier 2" }],
});

let fake: FakeSentinel;
let now: number;
const clock = () => new Date(now);
const advance = (ms: number) => {
  now += ms;
};
let store: SqliteIncidentStore;
let client: SentinelClient;
let changed: Incident[];
let warnings: object[];

function mirror(overrides: Partial<MirrorOptions> = {}): SentinelMirror {
  return new SentinelMirror({
    store,
    api: client,
    directory: DIRECTORY,
    workspaceId: WS,
    instanceId: "instance-a",
    pollEveryMs: 60_000,
    clock,
    log: { info: () => undefined, warn: (details) => warnings.push(details) },
    changed: (incident) => changed.push(incident),
    ...overrides,
  });
}

beforeEach(async () => {
  now = Date.parse("2026-11-20T10:00:00.000Z");
  fake = await startFakeSentinel({ now: clock });
  const settings: SentinelSettings = {
    armEndpoint: fake.armEndpoint,
    apiVersion: API_VERSION,
    subscriptionId: fake.subscriptionId,
    resourceGroup: fake.resourceGroup,
    workspace: fake.workspace,
    signIn: { kind: "managed-identity" },
    requestTimeoutMs: 10_000,
  };
  client = new SentinelClient(settings, inProcessClient(fake));
  store = new SqliteIncidentStore(":memory:");
  changed = [];
  warnings = [];
});
afterEach(async () => {
  await store.close();
  await fake.close();
});

/** An incident created in Teams while the sync is on (revision 1, pending). */
async function created(overrides: Partial<Incident> = {}): Promise<Incident> {
  const at = clock().toISOString();
  const { incident } = await store.create(
    aNewIncident({ workspaceId: WS, createdTimeUtc: at, lastModifiedTimeUtc: at, sentinel: newLink(at), ...overrides }),
  );
  return incident;
}

/** An edit made in Teams, as the service writes it (the stored link is kept). */
async function edit(id: string, change: Partial<Incident>): Promise<Incident> {
  const current = (await store.get(WS, id))!;
  const outcome = await store.replace({ ...current, ...change, lastModifiedTimeUtc: clock().toISOString() }, current.revision);
  if (!outcome.ok) throw new Error("the edit lost a race");
  return outcome.incident;
}

async function stored(id: string): Promise<Incident> {
  return (await store.get(WS, id))!;
}
async function link(id: string): Promise<SentinelLink> {
  return (await stored(id)).sentinel!;
}
const incidentPuts = (id: string) => fake.calls("PUT", new RegExp(`/incidents/${id}$`));
const remote = (id: string) => fake.incidents.get(id)!;

describe("Sentinel values this bot does not know yet (extensible enums)", () => {
  const UNKNOWN = {
    severity: "Critical",
    status: "Investigating",
    classification: "TruePositiveConfirmed",
    classificationReason: "InsiderThreat",
    labels: [{ labelName: "vishing", labelType: "Suggested" }],
  };

  it("the reader reads them without failing: Sentinel's spelling in unread, a stand-in in the fields, tags by name", async () => {
    const incident = await created({ title: "Odd values", severity: "High" });
    await mirror().push(incident.id);
    fake.editInPortal(incident.id, UNKNOWN);
    const read = await client.getIncident(incident.id);
    expect(read?.unread).toEqual({
      severity: "Critical",
      status: "Investigating",
      classification: "TruePositiveConfirmed",
      classificationReason: "InsiderThreat",
    });
    expect(read?.fields).toMatchObject({ title: "Odd values", severity: "Medium", status: "New", labels: [{ labelName: "vishing", labelType: "User" }] });
    expect(read?.fields).not.toHaveProperty("classification");
    expect(read?.fields).not.toHaveProperty("classificationReason");
    // Listed, not skipped.
    const listed: string[] = [];
    for await (const page of client.changedSince("2000-01-01T00:00:00.000Z")) listed.push(...page.map((r) => r.id));
    expect(listed).toContain(incident.id);
    // Known values: nothing unread.
    fake.editInPortal(incident.id, { severity: "Low", status: "Active", classification: undefined, classificationReason: undefined });
    expect((await client.getIncident(incident.id))?.unread).toBeUndefined();
  });

  it("brings the other changes home, keeps Teams' values for the unknown ones, shows Sentinel's, and warns once per value", async () => {
    const incident = await created({ title: "Odd values", severity: "High", entryPoint: "chat-report", createdBy: MEGAN });
    const m = mirror();
    await m.push(incident.id);
    await m.poll();
    changed.length = 0;

    advance(60_000);
    fake.editInPortal(incident.id, { ...UNKNOWN, title: "Renamed in Sentinel" });
    expect(await m.poll()).toBe(1);
    let home = await stored(incident.id);
    expect(home).toMatchObject({ title: "Renamed in Sentinel", severity: "High", status: "New", labels: [{ labelName: "vishing" }], revision: 2 });
    expect(home.classification).toBeUndefined();
    expect(home.sentinel?.unread).toEqual([
      'Sentinel\'s severity "Critical" is not one this bot knows yet: Teams keeps High.',
      'Sentinel\'s status "Investigating", "TruePositiveConfirmed", "InsiderThreat" is not one this bot knows yet: Teams keeps New.',
    ]);
    expect(home.sentinel?.revision).toBe(home.revision);
    const warned = () => warnings.filter((w) => "unread" in w);
    expect(warned()).toHaveLength(1);
    expect(changed).toHaveLength(1);

    // Another change there, the same unknown values: brought home, not warned again.
    advance(60_000);
    fake.editInPortal(incident.id, { description: "More words" });
    expect(await m.poll()).toBe(1);
    expect((await stored(incident.id)).description).toBe("More words");
    expect(warned()).toHaveLength(1);

    // Only an unknown value changes: nothing written here, the card is redrawn to show it.
    advance(60_000);
    fake.editInPortal(incident.id, { severity: "Severe" });
    expect(await m.poll()).toBe(0);
    home = await stored(incident.id);
    expect(home.severity).toBe("High");
    expect(home.sentinel?.unread?.[0]).toBe('Sentinel\'s severity "Severe" is not one this bot knows yet: Teams keeps High.');
    expect(warned()).toHaveLength(2);
    expect(changed).toHaveLength(3);

    // A change made in Teams is pushed (Teams' values), and the lines go.
    await edit(incident.id, { severity: "Low" });
    expect(await m.push(incident.id)).toBe("synced");
    expect(remote(incident.id).properties).toMatchObject({ severity: "Low", status: "New", title: "Renamed in Sentinel" });
    expect((await stored(incident.id)).sentinel?.unread).toBeUndefined();
  });

  it("never sends a label's type (read-only), and compares tags by name", async () => {
    const incident = await created({ title: "Tags", labels: [{ labelName: "phishing", labelType: "AutoAssigned" }] });
    const m = mirror();
    await m.push(incident.id);
    await m.poll();
    // Sentinel says the type it likes: not a change of the tags.
    advance(60_000);
    fake.editInPortal(incident.id, { labels: [{ labelName: "phishing", labelType: "Suggested" }] });
    expect(await m.poll()).toBe(0);
    await edit(incident.id, { labels: labels("phishing", "vip") });
    expect(await m.push(incident.id)).toBe("synced");
    const puts = fake.calls("PUT");
    expect(puts.length).toBeGreaterThan(1);
    for (const put of puts) expect(JSON.stringify(put.body)).not.toContain("labelType");
    expect(remote(incident.id).properties.labels).toEqual(labels("phishing", "vip"));
  });
});

describe("SentinelMirror: pushing to Sentinel", () => {
  it("creates the incident (201) on the first push and records its number, url, etag and the fields agreed", async () => {
    const incident = await created({ title: "Phishing at finance", severity: "High", labels: labels("Phishing"), owner: ADELE });
    expect(await mirror().push(incident.id)).toBe("synced");

    expect(incidentPuts(incident.id).map((r) => [r.status, r.body.etag])).toEqual([[201, undefined]]);
    const there = remote(incident.id);
    expect(there.properties).toMatchObject({
      title: "Phishing at finance",
      severity: "High",
      status: "New",
      labels: labels("Phishing"),
    });
    expect(there.properties.owner).toMatchObject({ objectId: ADELE.objectId, assignedTo: "Adele Vance" });
    const l = await link(incident.id);
    expect(l).toMatchObject({
      revision: 1,
      etag: there.etag,
      incidentNumber: there.properties.incidentNumber,
      incidentUrl: there.properties.incidentUrl,
      base: mirroredFields(incident),
      attempts: 0,
      reports: 1,
    });
    expect(l.claimUntilUtc).toBeUndefined();
    expect(l.lastError).toBeUndefined();
    // Provenance: one comment.
    expect([...there.comments.values()].map((c) => c.message)).toEqual([
      expect.stringMatching(/^Reported in Microsoft Teams by Alex Wilber/),
    ]);
    // The cards learn Sentinel's number.
    expect(changed.map((i) => i.sentinel?.incidentNumber)).toEqual([there.properties.incidentNumber]);
    expect(mirrorState(await stored(incident.id))).toMatchObject({ kind: "synced", behind: false });

    // Nothing new: nothing sent.
    const requests = fake.calls().length;
    expect(await mirror().push(incident.id)).toBe("not-due");
    expect(await mirror().sweep()).toBe(0);
    expect(fake.calls()).toHaveLength(requests);
  });

  it("sends an edit as one PUT with the etag last seen", async () => {
    const incident = await created();
    await mirror().push(incident.id);
    const etag = (await link(incident.id)).etag;
    await edit(incident.id, { severity: "High", labels: labels("Badge") });

    expect(await mirror().sweep()).toBe(1);
    const puts = incidentPuts(incident.id);
    expect(puts.map((r) => r.status)).toEqual([201, 200]);
    expect(puts[1]!.body.etag).toBe(etag);
    expect(remote(incident.id).properties).toMatchObject({ severity: "High", labels: labels("Badge") });
    expect(await link(incident.id)).toMatchObject({ revision: 2, etag: remote(incident.id).etag });
    expect(changed).toHaveLength(1);
  });

  it("merges after a 409 when Sentinel changed another field: both in Sentinel, theirs brought home, no conflict", async () => {
    const incident = await created();
    await mirror().push(incident.id);
    fake.editInPortal(incident.id, { severity: "High" });
    await edit(incident.id, { title: "Tailgating, building 3 (edited)" });

    expect(await mirror().push(incident.id)).toBe("synced");
    expect(incidentPuts(incident.id).map((r) => r.status)).toEqual([201, 409, 200]);
    expect(remote(incident.id).properties).toMatchObject({ title: "Tailgating, building 3 (edited)", severity: "High" });
    const home = await stored(incident.id);
    expect(home).toMatchObject({ title: "Tailgating, building 3 (edited)", severity: "High", revision: 3 });
    expect(home.sentinel).toMatchObject({ revision: 3, etag: remote(incident.id).etag });
    expect(home.sentinel?.conflicts).toBeUndefined();
    expect(changed.map((i) => i.severity)).toEqual(["Medium", "High"]);
    // All agreed: nothing more to send.
    expect(await mirror().push(incident.id)).toBe("not-due");
  });

  it("keeps Teams' value in Sentinel when both changed the same field, and records the conflict on the link", async () => {
    const incident = await created();
    await mirror().push(incident.id);
    fake.editInPortal(incident.id, { severity: "Low" });
    await edit(incident.id, { severity: "High" });

    expect(await mirror().push(incident.id)).toBe("synced");
    expect(remote(incident.id).properties.severity).toBe("High");
    expect((await stored(incident.id)).severity).toBe("High");
    expect((await link(incident.id)).conflicts).toEqual([
      "Severity was changed in Sentinel (to Low) and in Teams (to High) at the same time: Teams' High was kept.",
    ]);
  });

  it("waits exactly as long as Retry-After says after a 429", async () => {
    const incident = await created();
    fake.failNext(1, { kind: "status", status: 429, retryAfter: "7" });
    expect(await mirror().push(incident.id)).toBe("retry");
    const l = await link(incident.id);
    expect(l.dueUtc).toBe(new Date(now + 7000).toISOString());
    expect(l.attempts).toBe(1);
    expect(l.lastError).toMatch(/429/);
    expect(l.claimUntilUtc).toBeUndefined();
    expect(mirrorState(await stored(incident.id))).toMatchObject({ kind: "sending", lastError: l.lastError });

    advance(6999);
    expect(await mirror().push(incident.id)).toBe("not-due");
    expect(await mirror().sweep()).toBe(0);
    advance(1);
    expect(await mirror().sweep()).toBe(1);
    expect(await link(incident.id)).toMatchObject({ revision: 1, attempts: 0 });
    expect(remote(incident.id)).toBeDefined();
  });

  it("backs off after a 503: 2.5 to 5 s, then 5 to 10 s", async () => {
    const incident = await created();
    fake.failNext(2, { kind: "status", status: 503 });
    expect(await mirror().push(incident.id)).toBe("retry");
    const first = Date.parse((await link(incident.id)).dueUtc) - now;
    expect(first).toBeGreaterThanOrEqual(2500);
    expect(first).toBeLessThanOrEqual(5000);

    now += first;
    expect(await mirror().push(incident.id)).toBe("retry");
    const second = await link(incident.id);
    expect(second.attempts).toBe(2);
    expect(Date.parse(second.dueUtc) - now).toBeGreaterThanOrEqual(5000);
    expect(Date.parse(second.dueUtc) - now).toBeLessThanOrEqual(10_000);
    expect(second.lastError).toMatch(/503/);
  });

  it("does not retry a revision Sentinel refused (400) until the incident changes", async () => {
    const incident = await created();
    fake.failNext(1, { kind: "status", status: 400 });
    expect(await mirror().push(incident.id)).toBe("rejected");
    const l = await link(incident.id);
    expect(l.rejected).toEqual({ revision: 1, reason: expect.any(String) as string });
    expect(mirrorState(await stored(incident.id))).toMatchObject({ kind: "rejected" });

    advance(24 * 3600_000);
    const requests = fake.calls().length;
    expect(await mirror().push(incident.id)).toBe("not-due");
    expect(await mirror().sweep()).toBe(0);
    expect(fake.calls()).toHaveLength(requests);

    await edit(incident.id, { title: "Fixed title" });
    expect(await mirror().sweep()).toBe(1);
    expect(remote(incident.id).properties.title).toBe("Fixed title");
    expect((await link(incident.id)).rejected).toBeUndefined();
  });

  it("names the missing role and the workspace after a 403, and sends once the role is granted", async () => {
    const incident = await created();
    fake.revokeRole();
    expect(await mirror().push(incident.id)).toBe("retry");
    const l = await link(incident.id);
    expect(l.lastError).toContain("Microsoft Sentinel Responder");
    expect(l.lastError).toContain(fake.workspace);
    expect(l.rejected).toBeUndefined();

    fake.grant();
    advance(5000);
    expect(await mirror().sweep()).toBe(1);
    expect(remote(incident.id)).toBeDefined();
  });

  it("leaves an incident another instance claimed alone until the claim lapses", async () => {
    const incident = await created();
    // Instance a sends it; while its PUT is in flight, instance b finds it claimed.
    fake.failNext(1, { kind: "stall", ms: 300 });
    const a = mirror().push(incident.id);
    // Polled every 10 ms: instance b must look while a's PUT is stalled (300 ms), not after.
    await until("instance a's PUT under way", () => fake.calls("PUT").length > 0, 20_000, 10);
    expect(await mirror({ instanceId: "instance-b" }).push(incident.id)).toBe("not-due");
    expect(await a).toBe("synced");
    expect(incidentPuts(incident.id)).toHaveLength(1);

    // An instance that claimed it and died: nobody sends it before the claim lapses.
    await edit(incident.id, { severity: "High" });
    const claimUntilUtc = new Date(now + 60_000).toISOString();
    await store.updateSentinel(WS, incident.id, (l) => l && { ...l, claimUntilUtc });
    const b = mirror({ instanceId: "instance-b" });
    expect(await b.push(incident.id)).toBe("not-due");
    advance(59_999);
    expect(await b.sweep()).toBe(0);
    advance(1);
    expect(await b.sweep()).toBe(1);
    expect(remote(incident.id).properties.severity).toBe("High");
    expect(incidentPuts(incident.id)).toHaveLength(2);
  });

  it("sends a change made in Teams while a change made in Sentinel was brought home by the poll", async () => {
    const incident = await created();
    const m = mirror();
    await m.push(incident.id);
    await m.poll();
    // An edit in Teams whose push fails for now...
    await edit(incident.id, { title: "Edited in Teams" });
    fake.failNext(1, { kind: "status", status: 503 });
    expect(await m.push(incident.id)).toBe("retry");
    // ...and a change in Sentinel, brought home meanwhile.
    advance(1000);
    fake.editInPortal(incident.id, { severity: "High" });
    expect(await m.poll()).toBe(1);
    expect(await stored(incident.id)).toMatchObject({ title: "Edited in Teams", severity: "High" });

    // The Teams edit is still to be sent, and is.
    advance(10_000);
    expect(await m.sweep()).toBe(1);
    expect(remote(incident.id).properties).toMatchObject({ title: "Edited in Teams", severity: "High" });
  });

  it("sends a restricted incident without its words, and never takes its words from Sentinel", async () => {
    const incident = await created({
      restricted: true,
      title: "Manager changed payroll bank details",
      description: "Reported by an employee of finance.",
      labels: labels("HR"),
      entryPoint: "chat-report",
      createdBy: MEGAN,
    });
    const m = mirror();
    await m.push(incident.id);
    const there = remote(incident.id);
    expect(there.properties.title).toBe(`Restricted incident INC-${incident.incidentNumber}`);
    expect(there.properties.labels).toEqual([]);
    const sent = JSON.stringify(fake.calls("PUT").map((r) => r.body));
    for (const words of ["payroll", "finance", "HR", "Megan"]) expect(sent).not.toContain(words);

    await m.poll();
    advance(1000);
    fake.editInPortal(incident.id, { title: "Renamed in Sentinel", description: "x", severity: "High", labels: labels("Seen") });
    expect(await m.poll()).toBe(1);
    expect(await stored(incident.id)).toMatchObject({
      title: "Manager changed payroll bank details",
      description: "Reported by an employee of finance.",
      labels: labels("HR"),
      severity: "High",
    });
  });
});

describe("SentinelMirror: bringing changes made in Sentinel home", () => {
  const WATERMARK = "sentinelWatermark";

  it("only sets the watermark on the first poll", async () => {
    const m = mirror();
    expect(await m.poll()).toBe(0);
    expect(await store.getSetting(WS, WATERMARK)).toBe(clock().toISOString());
    expect(fake.calls("GET")).toEqual([]);
  });

  it("names an owner set in Sentinel from the directory, never from Sentinel's assignedTo text", async () => {
    const CRAFTED = "IT Support. Your account is locked: sign in at https://evil.example/login";
    const incident = await created({ entryPoint: "chat-report", createdBy: MEGAN });
    const m = mirror();
    await m.push(incident.id);
    await m.poll();

    // A known object id with crafted words: the directory's name.
    advance(60_000);
    fake.editInPortal(incident.id, { owner: { objectId: ADELE.objectId, assignedTo: CRAFTED, email: "it@evil.example", ownerType: "User" } });
    expect(await m.poll()).toBe(1);
    let home = await stored(incident.id);
    expect(home.owner).toEqual({ objectId: ADELE.objectId, ownerType: "User", assignedTo: "Adele Vance", email: "adelev@contoso.com" });
    // A group, by its id (Sentinel said "User").
    advance(60_000);
    fake.editInPortal(incident.id, { owner: { objectId: "C3A9E0F1-1B2C-4D3E-8F40-5A6B7C8D9E02", assignedTo: CRAFTED, ownerType: "User" } });
    expect(await m.poll()).toBe(1);
    home = await stored(incident.id);
    expect(home.owner).toEqual({ objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e02", ownerType: "Group", assignedTo: "SOC Tier 2" });
    // An object id the directory does not know: "a SOC analyst".
    advance(60_000);
    fake.editInPortal(incident.id, { owner: { objectId: "0badc0de-0000-4000-8000-000000000001", assignedTo: CRAFTED, userPrincipalName: "x@evil.example" } });
    expect(await m.poll()).toBe(1);
    home = await stored(incident.id);
    expect(home.owner).toEqual({ objectId: "0badc0de-0000-4000-8000-000000000001", ownerType: "User", assignedTo: "a SOC analyst" });

    const told = (home.outbox ?? []).map((n) => n.text);
    expect(told).toHaveLength(3);
    expect(told[0]).toMatch(/^Adele Vance from the SOC is now handling/);
    expect(told[2]).toBe("A SOC analyst is now handling your report INC-1.");
    expect(JSON.stringify(home)).not.toMatch(/evil\.example|account is locked/);
  });

  it("names Sentinel's owner from the directory when a push meets a change made there (409 merge)", async () => {
    const incident = await created({ entryPoint: "chat-report", createdBy: MEGAN });
    const m = mirror();
    await m.push(incident.id);
    fake.editInPortal(incident.id, { owner: { objectId: ADELE.objectId, assignedTo: "Click https://evil.example now", ownerType: "User" } });
    await edit(incident.id, { severity: "High" });
    expect(await m.push(incident.id)).toBe("synced");
    const home = await stored(incident.id);
    expect(home.owner).toMatchObject({ objectId: ADELE.objectId, assignedTo: "Adele Vance" });
    expect(remote(incident.id).properties.owner).toMatchObject({ objectId: ADELE.objectId, assignedTo: "Adele Vance" });
    expect(JSON.stringify(home)).not.toContain("evil.example");
  });

  it("writes a portal change of status, owner, severity and tags into the store, telling the reporters, once", async () => {
    const incident = await created({ entryPoint: "chat-report", createdBy: MEGAN, labels: labels("Phishing") });
    const m = mirror();
    await m.push(incident.id);
    await m.poll();
    changed.length = 0;

    advance(60_000);
    fake.editInPortal(incident.id, { status: "Active", owner: { ...ADELE, objectId: ADELE.objectId.toUpperCase() } });
    expect(await m.poll()).toBe(1);
    let home = await stored(incident.id);
    expect(home).toMatchObject({ status: "Active", owner: { objectId: ADELE.objectId, assignedTo: "Adele Vance" }, revision: 2 });
    expect(home.sentinel).toMatchObject({ revision: 2, etag: remote(incident.id).etag });
    expect(home.outbox).toEqual([
      expect.objectContaining({
        to: `aad:${MEGAN.objectId}`,
        state: "pending",
        text: expect.stringMatching(/Adele Vance from the SOC is now handling[\s\S]*investigating/) as string,
      }),
    ]);
    expect(changed.map((i) => i.id)).toEqual([incident.id]);
    expect(await m.push(incident.id)).toBe("not-due");

    // Read again (the watermark overlaps): nothing more.
    advance(30_000);
    expect(await m.poll()).toBe(0);
    expect(changed).toHaveLength(1);

    advance(30_000);
    fake.editInPortal(incident.id, { severity: "High", labels: labels("Phishing", "VIP") });
    expect(await m.poll()).toBe(1);
    home = await stored(incident.id);
    expect(home).toMatchObject({ severity: "High", labels: labels("Phishing", "VIP"), revision: 3 });
    expect(changed).toHaveLength(2);
    expect(await store.getSetting(WS, WATERMARK)).toBe(remote(incident.id).properties.lastModifiedTimeUtc);
  });

  it("does not bring a change home while a push holds the incident, and does once the claim lapses", async () => {
    const incident = await created();
    const m = mirror();
    await m.push(incident.id);
    await m.poll();
    // Another instance is pushing it (or died doing so).
    const claimUntilUtc = new Date(now + 60_000).toISOString();
    await store.updateSentinel(WS, incident.id, (l) => l && { ...l, claimUntilUtc });
    advance(1000);
    fake.editInPortal(incident.id, { severity: "High" });
    expect(await m.poll()).toBe(0);
    expect(await stored(incident.id)).toMatchObject({ severity: "Medium", revision: 1 });
    expect((await link(incident.id)).claimUntilUtc).toBe(claimUntilUtc);

    advance(59_000);
    expect(await m.poll()).toBe(1);
    expect(await stored(incident.id)).toMatchObject({ severity: "High", revision: 2 });
  });

  it("ignores incidents this bot did not create", async () => {
    const m = mirror();
    await m.poll();
    advance(1000);
    const foreign = randomUUID();
    await client.putIncident(foreign, { ...mirroredFields({ ...aNewIncident(), incidentNumber: 1, revision: 1 }) }, undefined);
    // And one in a shape this bot does not mirror.
    fake.incidents.set("odd", {
      ...remote(foreign),
      name: "odd",
      properties: { ...remote(foreign).properties, severity: "Weird" },
    });
    expect(await m.poll()).toBe(0);
    expect(await store.get(WS, foreign)).toBeUndefined();
    expect(await store.search(WS, {}, 10)).toEqual([]);
    expect(changed).toEqual([]);
  });

  it("lets one instance poll at a time (a lease), the other once the lease lapses", async () => {
    const incident = await created();
    const a = mirror();
    const b = mirror({ instanceId: "instance-b" });
    await a.push(incident.id);
    expect(await a.poll()).toBe(0);
    advance(1000);
    fake.editInPortal(incident.id, { severity: "High" });

    const lists = () => fake.calls("GET", /\/incidents$/).length;
    expect(await b.poll()).toBe(0);
    expect(lists()).toBe(0);
    expect((await stored(incident.id)).severity).toBe("Medium");

    // a's lease: twice the poll interval and 30 s.
    advance(2 * 60_000 + 30_000 - 1001);
    expect(await b.poll()).toBe(0);
    expect(lists()).toBe(0);
    advance(1);
    expect(await b.poll()).toBe(1);
    expect((await stored(incident.id)).severity).toBe("High");
    // Now a is refused.
    expect(await a.poll()).toBe(0);
    expect(lists()).toBe(1);
  });

  it("follows nextLink pages ($top=100) and keeps the watermark of the last page", async () => {
    const incident = await created();
    const m = mirror();
    await m.push(incident.id);
    await m.poll();
    advance(1000);
    const filler = mirroredFields({ ...aNewIncident(), incidentNumber: 1, revision: 1 });
    for (let i = 0; i < 100; i++) await client.putIncident(randomUUID(), filler, undefined);
    advance(1000);
    fake.editInPortal(incident.id, { status: "Active" });

    expect(await m.poll()).toBe(1);
    const lists = fake.calls("GET", /\/incidents$/);
    expect(lists.map((r) => [r.query.$top, r.query.$skipToken])).toEqual([
      ["100", undefined],
      ["100", "100"],
    ]);
    expect((await stored(incident.id)).status).toBe("Active");
    expect(await store.getSetting(WS, "sentinelWatermark")).toBe(remote(incident.id).properties.lastModifiedTimeUtc);
  });

  it("refuses a nextLink to another host", async () => {
    const m = mirror();
    await m.poll();
    advance(1000);
    const filler = mirroredFields({ ...aNewIncident(), incidentNumber: 1, revision: 1 });
    for (let i = 0; i < 101; i++) await client.putIncident(randomUUID(), filler, undefined);
    fake.nextLinkOrigin("https://elsewhere.example.com");

    const error = await m.poll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SentinelError);
    expect((error as SentinelError).message).toMatch(/another host \(elsewhere\.example\.com\)/);
    expect(fake.calls("GET", /\/incidents$/)).toHaveLength(1);
  });
});

describe("SentinelMirror: entities, category and techniques (src/incidents/mirror-entities.ts)", () => {
  const entity = (type: EntityType, value: string, role: EntityRole = "related", source: EntitySource = "extracted"): Entity => {
    const checked = checkEntity(type, value, role, source);
    if (!checked.ok) throw new Error(checked.error);
    return checked.entity;
  };
  const PHISH = [
    entity("url", "https://paypa1-login.com/signin?x=1&y=2"),
    entity("ip", "185.220.101.7"),
    entity("ip", "10.1.2.3"),
    entity("email", "billing@paypa1-login.com"),
    entity("user", "megan.bowen@contoso.com", "impacted", "directory"),
  ];
  const entityComments = (id: string) =>
    [...remote(id).comments.entries()]
      .map(([commentId, c]) => ({ commentId, message: c.message, etag: c.etag }))
      .filter((c) => c.message.includes("<table>"));
  const labelNames = (id: string) => (remote(id).properties.labels as { labelName: string }[]).map((l) => l.labelName);
  const url = (i: number, length: number) => {
    const head = `https://e${String(i).padStart(2, "0")}.example/`;
    return entity("url", head + "a".repeat(length - head.length));
  };

  it("sends the entities as one comment: an HTML table, values defanged and escaped, no plain URL, once across a lost answer", async () => {
    const incident = await created({ entities: PHISH });
    const m = mirror();
    // Each comment write is carried out and its answer lost: the push is retried later, with the same ids.
    fake.failNext(2, { kind: "lose-answer" }, /PUT .*\/comments\//);
    expect(await m.push(incident.id)).toBe("retry");
    expect(entityComments(incident.id)).toHaveLength(1);
    advance(60_000);
    expect(await m.push(incident.id)).toBe("synced");
    const sent = entityComments(incident.id);
    expect(sent).toHaveLength(1);
    expect(fake.calls("PUT", /\/comments\//).filter((r) => r.body.properties.message.includes("<table>"))).toHaveLength(2);
    const message = sent[0]!.message;
    expect(message).toContain(`Entities of INC-${incident.incidentNumber} in Microsoft Teams (5)`);
    expect(message).toContain("<td>URL</td><td>hxxps://paypa1-login[.]com/signin?x=1&amp;y=2</td><td>related</td><td>found in a report</td>");
    expect(message).toContain("<td>IP address</td><td>185.220.101[.]7</td><td>related</td><td>found in a report</td>");
    expect(message).toContain("<td>10.1.2[.]3</td><td>related</td><td>found in a report; private range</td>");
    expect(message).toContain("<td>billing[@]paypa1-login[.]com</td>");
    expect(message).toContain("<td>User (userPrincipalName)</td><td>megan.bowen@contoso.com</td><td>impacted</td><td>from the directory</td>");
    expect(message).not.toMatch(/https?:\/\//);
    expect(message).not.toContain("paypa1-login.com");
    expect(await link(incident.id)).toMatchObject({ entities: { comments: 1 } });

    // Nothing changed in the entities: no new comment when something else is sent.
    await edit(incident.id, { severity: "High" });
    expect(await m.push(incident.id)).toBe("synced");
    expect(entityComments(incident.id)).toHaveLength(1);
  });

  it("escapes what a value holds, so nothing in it is markup", () => {
    const message = entitiesMessage({ incidentNumber: 3, entities: [entity("url", "javascript:alert('<b>x</b>')")] });
    expect(message).toContain("javascript[:]alert(&#39;&lt;b&gt;x&lt;/b&gt;&#39;)");
    expect(message).toContain("script URL: do not open");
    expect(message).not.toContain("<b>");
  });

  it("writes a new comment when the entities change (the old one untouched), and none when they do not", async () => {
    const incident = await created({ entities: PHISH.slice(0, 2) });
    const m = mirror();
    await m.push(incident.id);
    const [first] = entityComments(incident.id);

    await edit(incident.id, { entities: [...PHISH.slice(0, 2), PHISH[3]!], entitiesNotKept: 4 });
    expect(await m.push(incident.id)).toBe("synced");
    const after = entityComments(incident.id);
    expect(after).toHaveLength(2);
    expect(after.find((c) => c.commentId === first!.commentId)).toEqual(first);
    const second = after.find((c) => c.commentId !== first!.commentId)!;
    expect(second.message).toContain("billing[@]paypa1-login[.]com");
    expect(second.message).toContain("<p>4 not kept (an incident keeps at most 100).</p>");

    // A role changed: a new table.
    await edit(incident.id, { entities: [{ ...PHISH[0]!, role: "impacted" }, PHISH[1]!, PHISH[3]!] });
    await m.push(incident.id);
    expect(entityComments(incident.id)).toHaveLength(3);

    // The same set in another order, with another change: nothing new.
    await edit(incident.id, { title: "Edited", entities: [PHISH[3]!, PHISH[1]!, { ...PHISH[0]!, role: "impacted" }] });
    await m.push(incident.id);
    expect(entityComments(incident.id)).toHaveLength(3);
    expect(remote(incident.id).properties.title).toBe("Edited");

    // Back to the first set: a new comment again, the first one not rewritten.
    await edit(incident.id, { entities: PHISH.slice(0, 2), entitiesNotKept: 0 });
    await m.push(incident.id);
    expect(entityComments(incident.id)).toHaveLength(4);
    expect(entityComments(incident.id).find((c) => c.commentId === first!.commentId)).toEqual(first);
  });

  it("keeps a comment within 30,000 characters: whole up to the limit, the longest values cut past it", async () => {
    // The boundary: k values of 1,000 characters and two that fill the table to exactly 30,000.
    const table = (k: number, a: number, b: number) => ({
      incidentNumber: 7,
      entities: [...Array.from({ length: k }, (_, i) => url(i, 1000)), url(90, a), url(91, b)],
    });
    const uncut = (message: string) => !message.includes("cut to fit");
    let k = 1;
    while (k < 98 && uncut(entitiesMessage(table(k + 1, 100, 100)))) k++;
    const gap = 30_000 - entitiesMessage(table(k, 100, 100)).length;
    expect(gap).toBeLessThan(1800);
    const exact = table(k, 100 + Math.floor(gap / 2), 100 + Math.ceil(gap / 2));
    const whole = entitiesMessage(exact);
    expect(whole.length).toBe(30_000);
    expect(whole).not.toContain("cut to fit");
    for (const e of exact.entities) expect(whole).toContain(`<td>${defang(e)}</td>`);
    const over = entitiesMessage(table(k, 100 + Math.floor(gap / 2), 101 + Math.ceil(gap / 2)));
    expect(over.length).toBeLessThanOrEqual(30_000);
    expect(over).toContain(`${k} values were cut to fit Sentinel's comment limit; the full values are in Teams.`);

    // A hundred values of 1,000 characters: each cut to the largest length that fits, and Sentinel takes it.
    const incident = await created({ entities: Array.from({ length: 100 }, (_, i) => url(i, 1000)) });
    expect(await mirror().push(incident.id)).toBe("synced");
    const [sent] = entityComments(incident.id);
    expect(sent!.message.length).toBeLessThanOrEqual(30_000);
    expect(sent!.message.length).toBeGreaterThan(29_900);
    expect(sent!.message).toContain("100 values were cut");
    expect(sent!.message.match(/<tr><td>URL<\/td><td>hxxps:\/\/e\d\d\[\.\]example\/a+…<\/td>/g)).toHaveLength(100);
  });

  it("adds category: and mitre: labels from the incident's fields, and never brings such labels home as tags", async () => {
    const incident = await created({ labels: labels("phishing"), category: "InitialAccess", mitreTechniques: ["T1566", "T1566.002"] });
    const m = mirror();
    await m.push(incident.id);
    expect(labelNames(incident.id)).toEqual(["phishing", "category:InitialAccess", "mitre:T1566", "mitre:T1566.002"]);
    await m.poll();

    // In Sentinel: a technique label removed, another added, a tag added.
    advance(60_000);
    fake.editInPortal(incident.id, {
      labels: [{ labelName: "phishing" }, { labelName: "category:InitialAccess" }, { labelName: "MITRE:T1059" }, { labelName: "vip" }],
    });
    expect(await m.poll()).toBe(1);
    const home = await stored(incident.id);
    expect(home.labels.map((l) => l.labelName)).toEqual(["phishing", "vip"]);
    expect(home.mitreTechniques).toEqual(["T1566", "T1566.002"]);
    expect(home.sentinel?.conflicts).toBeUndefined();
    // Not counted for tag suggestions either.
    expect((await tagTotals(store, WS, tagWindow(clock()))).map((t) => t.tag).sort()).toEqual(["phishing", "vip"]);

    // Only the category changes in Teams: the labels are written again, from the incident's fields.
    await edit(incident.id, { category: "CredentialAccess" });
    expect(await m.push(incident.id)).toBe("synced");
    expect(labelNames(incident.id)).toEqual(["phishing", "vip", "category:CredentialAccess", "mitre:T1566", "mitre:T1566.002"]);

    // Only such labels change in Sentinel: nothing changes here.
    await m.poll();
    advance(60_000);
    fake.editInPortal(incident.id, { labels: [{ labelName: "phishing" }, { labelName: "vip" }, { labelName: "category:Impact" }] });
    const revision = (await stored(incident.id)).revision;
    expect(await m.poll()).toBe(0);
    expect((await stored(incident.id)).revision).toBe(revision);
  });

  it("merges tags after a 409 without the derived labels: Sentinel's tags kept, Teams' category written, no conflict", async () => {
    const incident = await created({ labels: labels("phishing"), category: "InitialAccess", mitreTechniques: ["T1566"] });
    const m = mirror();
    await m.push(incident.id);
    // At the same time: in Sentinel a tag added and the technique label removed; in Teams the category changed.
    fake.editInPortal(incident.id, { labels: [{ labelName: "phishing" }, { labelName: "category:InitialAccess" }, { labelName: "vip" }] });
    await edit(incident.id, { category: "Execution" });
    expect(await m.push(incident.id)).toBe("synced");
    expect(incidentPuts(incident.id).map((r) => r.status)).toEqual([201, 409, 200]);
    expect(labelNames(incident.id)).toEqual(["phishing", "vip", "category:Execution", "mitre:T1566"]);
    const home = await stored(incident.id);
    expect(home.labels.map((l) => l.labelName)).toEqual(["phishing", "vip"]);
    expect(home.sentinel?.conflicts).toBeUndefined();
  });

  it("says so in a new comment when every entity is removed, and sends nothing for an incident that never had any", async () => {
    const none = await created();
    const m = mirror();
    await m.push(none.id);
    expect(entityComments(none.id)).toEqual([]);
    expect([...remote(none.id).comments.values()].map((c) => c.message).join()).not.toContain("entities");

    const incident = await created({ entities: PHISH.slice(0, 1) });
    await m.push(incident.id);
    await edit(incident.id, { entities: [] });
    await m.push(incident.id);
    const messages = [...remote(incident.id).comments.values()].map((c) => c.message);
    expect(messages).toContain(`<p>INC-${incident.incidentNumber} has no entities in Microsoft Teams any more.</p>`);
    expect(await link(incident.id)).toMatchObject({ entities: { comments: 2 } });
  });

  it("sends a restricted incident without entities, category or techniques", async () => {
    const incident = await created({
      restricted: true,
      labels: labels("HR"),
      category: "Exfiltration",
      mitreTechniques: ["T1567"],
      entities: PHISH,
    });
    const m = mirror();
    expect(await m.push(incident.id)).toBe("synced");
    expect(labelNames(incident.id)).toEqual([]);
    expect(entityComments(incident.id)).toEqual([]);
    const sent = JSON.stringify(fake.calls("PUT").map((r) => r.body));
    for (const words of ["paypa1", "185.220.101", "megan.bowen", "Exfiltration", "T1567", "mitre:", "category:"]) expect(sent).not.toContain(words);
    // Changed later: still nothing.
    await edit(incident.id, { entities: PHISH.slice(0, 1), mitreTechniques: ["T1566"] });
    expect(await m.push(incident.id)).toBe("synced");
    expect(JSON.stringify(fake.calls("PUT").map((r) => r.body))).not.toMatch(/paypa1|T1566|<table>/);
    expect((await link(incident.id)).entities).toBeUndefined();
  });
});
