import { spawn } from "node:child_process";
import path from "node:path";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { DefenderClient, type DefenderSettings } from "../../src/adapters/defender-client";
import { defenderComment, defenderMarker, hasComment, manualAlertOf, type ManualAlert } from "../../src/incidents/defender";
import { checkEntity, type Entity } from "../../src/incidents/entities";
import { DefenderError } from "../../src/incidents/errors";
import type { Incident } from "../../src/incidents/model";
import { aNewIncident } from "../support/builders";
import { inProcessGraph, startFakeDefender, type FakeDefender } from "../support/fake-defender";

/** The Defender adapter over HTTP against the Graph security test server: the wire it speaks and each failure mapped. */

const BOT_APP = "0b5c9a4e-1111-4222-8333-444455556666";

function anIncident(overrides: Partial<Incident> = {}): Incident {
  const impacted = checkEntity("user", "megan.bowen@contoso.com", "impacted", "typed");
  const url = checkEntity("url", "hxxps://evil-payroll[.]com/login", "related", "typed");
  return {
    ...aNewIncident(),
    id: "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f",
    incidentNumber: 42,
    revision: 1,
    category: "InitialAccess",
    mitreTechniques: ["T1566.002"],
    entities: [impacted, url].map((c) => (c.ok ? c.entity : undefined)).filter((e): e is Entity => e !== undefined),
    ...overrides,
  };
}

function alertOf(incident: Incident): ManualAlert {
  return manualAlertOf(incident, { correlation: true, botAppId: BOT_APP }).alert;
}

let fake: FakeDefender;
let defender: DefenderClient;

function open(settings: Partial<DefenderSettings> = {}, credential?: TokenCredential): DefenderClient {
  const graph = inProcessGraph(fake);
  return new DefenderClient(
    { graphEndpoint: fake.graphEndpoint, signIn: { kind: "managed-identity" }, requestTimeoutMs: 2000, ...settings },
    { credential: credential ?? graph.credential, fetch: graph.fetch },
  );
}

async function failure(work: Promise<unknown>): Promise<DefenderError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DefenderError)) throw new Error(`expected a DefenderError, got ${String(error)}`);
  return error;
}

let tick = 0;
beforeEach(async () => {
  fake = await startFakeDefender({ now: () => new Date(Date.UTC(2026, 11, 8, 9, 0, tick++)) });
  defender = open();
});
afterEach(() => fake.close());

describe("createAlert", () => {
  it("POSTs the mapped manual alert to Graph beta with the token, and gives Defender's ids and URLs", async () => {
    const incident = anIncident();
    const alert = await defender.createAlert(alertOf(incident));
    const [sent] = fake.calls("POST", /^\/beta\/security\/alerts_v2$/);
    expect(sent!.headers.authorization).toMatch(/^Bearer fake-graph-token-/);
    expect(sent!.body["@odata.type"]).toBe("#microsoft.graph.security.manualAlert");
    expect(sent!.body.entityDefinitions).toEqual([
      { entityType: "user", entityIdentifier: "userPrincipalName", identifierValue: "megan.bowen@contoso.com", role: "impacted" },
      { entityType: "url", entityIdentifier: "url", identifierValue: "https://evil-payroll.com/login", role: "related" },
    ]);
    expect(alert).toMatchObject({
      id: expect.stringMatching(/^da\d+_-\d+$/),
      providerAlertId: expect.stringMatching(/^manual_/),
      incidentId: "1000",
      status: "new",
      detectionSource: "manual",
      alertWebUrl: expect.stringContaining("https://security.microsoft.com/alerts/"),
      incidentWebUrl: expect.stringContaining("https://security.microsoft.com/incidents/1000"),
    });
    expect(fake.alerts.size).toBe(1);
  });

  it("a restricted incident reaches Defender without its words", async () => {
    const incident = anIncident({ restricted: true, title: "Complaint about Lynne's manager", description: "HR matter." });
    await defender.createAlert(alertOf(incident));
    const stored = [...fake.alerts.values()][0]!;
    expect(JSON.stringify(stored)).not.toMatch(/Lynne|HR matter|megan\.bowen|evil-payroll/);
    expect(stored.title).toBe("Restricted incident INC-42");
  });

  it("400: rejected, with Defender's reason; nothing made", async () => {
    const error = await failure(defender.createAlert({ ...alertOf(anIncident()), description: "d".repeat(5001) }));
    expect(error).toMatchObject({ kind: "rejected", status: 400 });
    expect(error.message).toMatch(/maximum length of 5000/);
    expect(fake.alerts.size).toBe(0);
  });

  it("429 with Retry-After: retry after the time Graph asked for", async () => {
    fake.failNext(1, { kind: "status", status: 429, retryAfter: "7" });
    const error = await failure(defender.createAlert(alertOf(anIncident())));
    expect(error).toMatchObject({ kind: "retry", status: 429, retryAfterMs: 7000 });
    expect(error.message).not.toMatch(/may have been made/);
  });

  it("5xx: retry, and the alert may have been made", async () => {
    fake.failNext(1, { kind: "status", status: 503 });
    const error = await failure(defender.createAlert(alertOf(anIncident())));
    expect(error).toMatchObject({ kind: "retry", status: 503, retryAfterMs: undefined });
    expect(error.message).toMatch(/HTTP 503.*may have been made/);
  });

  it("a dropped connection: retry, the alert may have been made", async () => {
    fake.failNext(1, { kind: "drop" });
    const error = await failure(defender.createAlert(alertOf(anIncident())));
    expect(error.kind).toBe("retry");
    expect(error.message).toMatch(/connection failed.*may have been made/);
  });

  it("no answer within the timeout: retry", async () => {
    defender = open({ requestTimeoutMs: 200 });
    fake.failNext(1, { kind: "stall", ms: 1500 });
    const error = await failure(defender.createAlert(alertOf(anIncident())));
    expect(error.kind).toBe("retry");
    expect(error.message).toMatch(/no answer within 200 ms/);
  });

  it("403: forbidden, naming SecurityAlert.Create.All and the commands that grant it", async () => {
    fake.revoke("SecurityAlert.Create.All");
    fake.revoke("SecurityAlert.ReadWrite.All");
    const error = await failure(defender.createAlert(alertOf(anIncident())));
    expect(error).toMatchObject({ kind: "forbidden", status: 403, permission: "SecurityAlert.Create.All" });
    expect(error.message).toContain("appRoles[?value=='SecurityAlert.Create.All'].id");
    expect(error.message).toContain(`${fake.graphEndpoint}/v1.0/servicePrincipals/<identity object id>/appRoleAssignments`);
    fake.grant("SecurityAlert.Create.All");
    await expect(defender.createAlert(alertOf(anIncident()))).resolves.toMatchObject({ incidentId: "1000" });
  });

  it("a credential that can't sign in: retry, saying so", async () => {
    const failing: TokenCredential = {
      getToken: () => Promise.reject(Object.assign(new Error("no identity endpoint"), { name: "CredentialUnavailableError" })),
    };
    defender = open({}, failing);
    const error = await failure(defender.createAlert(alertOf(anIncident())));
    expect(error.kind).toBe("retry");
    expect(error.message).toMatch(/could not sign in/);
    expect(fake.calls()).toHaveLength(0);
  });

  it("asks for the token of the Graph endpoint it is given (a national cloud's)", async () => {
    const graph = inProcessGraph(fake);
    const scopes: string[] = [];
    const recording: TokenCredential = {
      getToken: (s: string | string[]): Promise<AccessToken | null> => {
        scopes.push(...[s].flat());
        return graph.credential.getToken(s);
      },
    };
    defender = open({}, recording);
    await defender.createAlert(alertOf(anIncident()));
    expect(scopes).toEqual([`${fake.graphEndpoint}/.default`]);
  });
});

describe("findAlertByMarker: a POST whose answer was lost", () => {
  it("finds the alert Defender made although the connection dropped after it: adopted, not made twice", async () => {
    const incident = anIncident();
    const since = new Date(Date.UTC(2026, 11, 8, 8, 59)).toISOString();
    fake.failNext(1, { kind: "drop-after" });
    expect((await failure(defender.createAlert(alertOf(incident)))).kind).toBe("retry");
    expect(fake.alerts.size).toBe(1);
    const found = await defender.findAlertByMarker(defenderMarker(incident), since);
    expect(found).toMatchObject({ id: [...fake.alerts.keys()][0], incidentId: "1000" });
    expect(fake.alerts.size).toBe(1);
    const [query] = fake.calls("GET", /alerts_v2$/);
    expect(query!.query.$filter).toBe(`createdDateTime ge ${since} and serviceSource eq 'microsoft365Defender'`);
  });

  it("finds nothing when nothing was made (dropped before), so the create may be repeated", async () => {
    const incident = anIncident();
    fake.failNext(1, { kind: "drop" });
    await failure(defender.createAlert(alertOf(incident)));
    await expect(defender.findAlertByMarker(defenderMarker(incident), "2026-12-08T08:00:00Z")).resolves.toBeUndefined();
  });

  it("looks through every page, past other incidents' alerts, detections and alerts that only quote the marker", async () => {
    defender = open({ pageSize: 2 });
    const ours = anIncident();
    const since = new Date(Date.UTC(2026, 11, 8, 8, 59)).toISOString();
    const made = await defender.createAlert(alertOf(ours));
    for (let i = 0; i < 3; i++)
      await defender.createAlert(alertOf(anIncident({ id: `1111111${i}-2222-4333-8444-555555555555` })));
    await defender.createAlert(
      alertOf(anIncident({ id: "99999999-2222-4333-8444-555555555555", description: `quoting ${defenderMarker(ours)}` })),
    );
    fake.addDetectedAlert({ description: `detected ${defenderMarker(ours)}`, serviceSource: "microsoft365Defender" });
    const found = await defender.findAlertByMarker(defenderMarker(ours), since);
    expect(found?.id).toBe(made.id);
    expect(fake.calls("GET", /alerts_v2$/).length).toBeGreaterThanOrEqual(3);
  });

  it("an alert made before `since` is not looked at", async () => {
    const incident = anIncident();
    await defender.createAlert(alertOf(incident));
    await expect(defender.findAlertByMarker(defenderMarker(incident), "2026-12-09T00:00:00Z")).resolves.toBeUndefined();
  });

  it("403 without an alert read permission: forbidden, naming SecurityAlert.Read.All", async () => {
    fake.revoke("SecurityAlert.Read.All");
    fake.revoke("SecurityAlert.ReadWrite.All");
    const error = await failure(defender.findAlertByMarker("[soc-incident-bot:x]", "2026-12-08T08:00:00Z"));
    expect(error).toMatchObject({ kind: "forbidden", permission: "SecurityAlert.Read.All" });
  });

  it("a next page on another host is not followed (the token stays with Graph)", async () => {
    defender = open({ pageSize: 1 });
    await defender.createAlert(alertOf(anIncident()));
    await defender.createAlert(alertOf(anIncident({ id: "22222222-2222-4333-8444-555555555555" })));
    fake.nextLinkOrigin("https://elsewhere.test");
    const error = await failure(defender.findAlertByMarker("[soc-incident-bot:none]", "2026-12-08T08:00:00Z"));
    expect(error.message).toMatch(/another host \(elsewhere\.test\)/);
  });
});

describe("incidents", () => {
  async function made(): Promise<string> {
    return (await defender.createAlert(alertOf(anIncident()))).incidentId;
  }

  it("getIncident reads Defender's incident; an unknown id is undefined", async () => {
    const id = await made();
    await expect(defender.getIncident(id)).resolves.toMatchObject({
      id,
      status: "active",
      classification: "unknown",
      customTags: [],
      comments: [],
      incidentWebUrl: expect.stringContaining(`/incidents/${id}`),
    });
    await expect(defender.getIncident("4040")).resolves.toBeUndefined();
  });

  it("a merge in Defender reads as redirected, naming the surviving incident", async () => {
    const from = await made();
    const into = await made();
    fake.merge(from, into);
    await expect(defender.getIncident(from)).resolves.toMatchObject({ status: "redirected", redirectIncidentId: into });
  });

  it("listIncidentsChangedSince: every incident updated after the time, over pages", async () => {
    defender = open({ pageSize: 2 });
    const ids = [await made(), await made(), await made(), await made(), await made()];
    const since = fake.incidents.get(ids[0]!)!.lastUpdateDateTime;
    fake.editInPortal(ids[0]!, { assignedTo: "adele@contoso.com", customTags: ["Payroll"] });
    const seen: string[] = [];
    for await (const page of defender.listIncidentsChangedSince(since)) seen.push(...page.map((i) => i.id));
    expect(seen.sort()).toEqual([...ids].sort());
    const pages = fake.calls("GET", /\/v1\.0\/security\/incidents$/);
    expect(pages).toHaveLength(3);
    expect(pages[0]!.query).toMatchObject({ $filter: `lastUpdateDateTime gt ${since}`, $top: "2" });
    const none: string[] = [];
    for await (const page of defender.listIncidentsChangedSince("2026-12-09T00:00:00Z")) none.push(...page.map((i) => i.id));
    expect(none).toEqual([]);
  });

  it("patchIncident changes the incident and gives it back; a value Defender does not take is rejected; a lost one is missing", async () => {
    const id = await made();
    const patched = await defender.patchIncident(id, {
      status: "resolved",
      classification: "truePositive",
      determination: "phishing",
      assignedTo: "adele@contoso.com",
      customTags: ["Payroll"],
      resolvingComment: "Mail purged.",
    });
    expect(patched).toMatchObject({
      status: "resolved",
      determination: "phishing",
      customTags: ["Payroll"],
      resolvingComment: "Mail purged.",
    });
    const rejected = await failure(defender.patchIncident(id, { status: "Closed" as never }));
    expect(rejected).toMatchObject({ kind: "rejected", status: 400 });
    expect(rejected.message).toMatch(/'Closed'/);
    expect((await failure(defender.patchIncident("4040", { status: "active" }))).kind).toBe("missing");
  });

  it("403 on a write names SecurityIncident.ReadWrite.All; reads still work with read access", async () => {
    const id = await made();
    fake.revoke("SecurityIncident.ReadWrite.All");
    const error = await failure(defender.patchIncident(id, { status: "inProgress" }));
    expect(error).toMatchObject({ kind: "forbidden", permission: "SecurityIncident.ReadWrite.All" });
    expect(error.message).toContain("appRoles[?value=='SecurityIncident.ReadWrite.All'].id");
    expect((await failure(defender.addComment(id, "x"))).permission).toBe("SecurityIncident.ReadWrite.All");
    await expect(defender.getIncident(id)).resolves.toMatchObject({ id });
    fake.revoke("SecurityIncident.Read.All");
    expect((await failure(defender.getIncident(id))).permission).toBe("SecurityIncident.Read.All");
  });

  it("addComment adds the comment to the incident; an unknown incident is missing", async () => {
    const id = await made();
    await defender.addComment(id, "Megan Bowen in Teams: the link was opened.");
    expect(fake.incidents.get(id)!.comments.map((c) => c.comment)).toEqual(["Megan Bowen in Teams: the link was opened."]);
    expect((await defender.getIncident(id))!.comments).toHaveLength(1);
    expect((await failure(defender.addComment("4040", "x"))).kind).toBe("missing");
  });

  it("a comment whose answer was lost is found on the incident by its marker, so it is not sent twice", async () => {
    const id = await made();
    const commentId = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
    fake.failNext(1, { kind: "drop-after" }, /comments$/);
    expect((await failure(defender.addComment(id, defenderComment(commentId, "Adele in Teams: purged.")))).kind).toBe("retry");
    const incident = await defender.getIncident(id);
    expect(hasComment(incident!, commentId)).toBe(true);
    expect(fake.incidents.get(id)!.comments).toHaveLength(1);
  });

  it("429 and 5xx on reads and writes: retry, Retry-After kept", async () => {
    const id = await made();
    fake.failNext(1, { kind: "status", status: 429, retryAfter: "Tue, 08 Dec 2026 09:10:00 GMT" });
    const throttled = await failure(defender.getIncident(id));
    expect(throttled).toMatchObject({ kind: "retry", status: 429 });
    expect(throttled.retryAfterMs).toBeDefined();
    fake.failNext(1, { kind: "status", status: 502 });
    expect(await failure(defender.patchIncident(id, { status: "active" }))).toMatchObject({ kind: "retry", status: 502 });
    fake.failNext(1, { kind: "drop" });
    expect((await failure(defender.addComment(id, "x"))).kind).toBe("retry");
  });

  it("an answer this bot can't read: retry, not a crash", async () => {
    const id = await made();
    fake.incidents.get(id)!.lastUpdateDateTime = undefined as never;
    const error = await failure(defender.getIncident(id));
    expect(error.kind).toBe("retry");
    expect(error.message).toMatch(/can't read/);
  });
});

describe("in a process of its own, as the bot runs it", () => {
  it("global fetch trusting NODE_EXTRA_CA_CERTS and ManagedIdentityCredential from IDENTITY_ENDPOINT reach Defender", async () => {
    const alert = alertOf(anIncident());
    const child = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "..", "support", "defender-child.ts")], {
      env: {
        ...process.env,
        ...fake.env(),
        DEFENDER_CHILD_GRAPH_ENDPOINT: fake.graphEndpoint,
        DEFENDER_CHILD_ALERT: JSON.stringify(alert),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on("close", resolve));
    const answer = JSON.parse(out) as { alert?: { incidentId: string }; incident?: { id: string }; error?: string };
    expect(answer.error).toBeUndefined();
    expect(answer.incident?.id).toBe(answer.alert?.incidentId);
    expect(fake.alerts.size).toBe(1);
    expect(fake.tokensIssued()).toBe(1);
  });
});
