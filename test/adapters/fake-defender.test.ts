import { inProcessGraph, MANUAL_ALERT, startFakeDefender, type FakeDefender } from "../support/fake-defender";

/** The Graph security test server's own rules, over its wire (https, bearer token). */

const SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function anAlert(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "@odata.type": MANUAL_ALERT,
    title: "Suspicious login from TOR exit node",
    description: "Login from a known TOR exit node.",
    category: "InitialAccess",
    severity: "high",
    entityDefinitions: [
      { entityType: "user", entityIdentifier: "userPrincipalName", identifierValue: "john.doe@contoso.com", role: "impacted" },
      { entityType: "ip", entityIdentifier: "address", identifierValue: "185.220.101.50", role: "related" },
    ],
    ...overrides,
  };
}

const entity = (overrides: Record<string, unknown>) => ({
  entityType: "user",
  entityIdentifier: "userPrincipalName",
  identifierValue: "john.doe@contoso.com",
  role: "impacted",
  ...overrides,
});

let fake: FakeDefender;
let client: ReturnType<typeof inProcessGraph>;
let token: string;
let tick = 0;

/** One request; the body as JSON. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await client.fetch(`${fake.graphEndpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

beforeEach(async () => {
  // Each stamp a second after the last: lists have a stable order.
  fake = await startFakeDefender({ now: () => new Date(Date.UTC(2026, 11, 8, 9, 0, tick++)) });
  client = inProcessGraph(fake);
  token = (await client.credential.getToken(`${fake.graphEndpoint}/.default`))!.token;
});
afterEach(() => fake.close());

describe("sign-in", () => {
  it("refuses a request without a token, or with one it did not issue (401)", async () => {
    token = "";
    expect((await call("GET", "/v1.0/security/incidents")).body.error.code).toBe("InvalidAuthenticationToken");
    token = "forged";
    expect((await call("GET", "/v1.0/security/incidents")).status).toBe(401);
  });

  it("issues tokens only for its own origin, to the App Service identity header", async () => {
    const url = new URL(fake.identityEndpoint);
    url.searchParams.set("resource", "https://graph.microsoft.com");
    expect((await fetch(url, { headers: { "X-IDENTITY-HEADER": fake.identityHeader } })).status).toBe(400);
    url.searchParams.set("resource", fake.graphEndpoint);
    expect((await fetch(url, { headers: { "X-IDENTITY-HEADER": "wrong" } })).status).toBe(401);
    expect((await fetch(url, { headers: { "X-IDENTITY-HEADER": fake.identityHeader } })).status).toBe(200);
  });
});

describe("POST /beta/security/alerts_v2", () => {
  it("makes the alert and a new incident: 201 with Defender's ids and URLs", async () => {
    const { status, body } = await call("POST", "/beta/security/alerts_v2", anAlert());
    expect(status).toBe(201);
    expect(body).toMatchObject({
      title: "Suspicious login from TOR exit node",
      status: "new",
      detectionSource: "manual",
      serviceSource: "microsoft365Defender",
      incidentId: "1000",
      incidentWebUrl: expect.stringMatching(/^https:\/\/security\.microsoft\.com\/incidents\/1000\?tid=/),
      alertWebUrl: expect.stringContaining(`/alerts/${body.id}`),
      createdDateTime: expect.any(String),
    });
    expect(body.providerAlertId).toMatch(/^manual_da\d+$/);
    expect(fake.incidents.get("1000")).toMatchObject({ displayName: "Suspicious login from TOR exit node", status: "active" });
    const again = await call("POST", "/beta/security/alerts_v2", anAlert());
    expect(again.body.id).not.toBe(body.id); // not idempotent: a second alert, a second incident
    expect(again.body.incidentId).toBe("1001");
  });

  it("joins an existing incident with linkToIncident (a merged one: the surviving incident); an unknown one is 400", async () => {
    const first = (await call("POST", "/beta/security/alerts_v2", anAlert())).body;
    const joined = await call("POST", "/beta/security/alerts_v2", anAlert({ linkToIncident: Number(first.incidentId) }));
    expect(joined.body.incidentId).toBe(first.incidentId);
    expect(fake.incidents.size).toBe(1);
    const other = (await call("POST", "/beta/security/alerts_v2", anAlert())).body;
    fake.merge(first.incidentId, other.incidentId);
    expect((await call("POST", "/beta/security/alerts_v2", anAlert({ linkToIncident: first.incidentId }))).body.incidentId).toBe(
      other.incidentId,
    );
    const unknown = await call("POST", "/beta/security/alerts_v2", anAlert({ linkToIncident: 999999 }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/999999/);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["no @odata.type", { "@odata.type": undefined }, /@odata\.type/],
    ["the base alert type", { "@odata.type": "#microsoft.graph.security.alert" }, /manualAlert/],
    ["an unknown property", { colour: "red" }, /'colour' does not exist/],
    ["a read-only alert property", { status: "resolved" }, /'status'/],
    ["no title", { title: undefined }, /'title'/],
    ["a blank title", { title: "  " }, /'title'/],
    ["no description", { description: undefined }, /'description'/],
    ["a description of 5,001 characters", { description: "d".repeat(5001) }, /5000/],
    ["severity unknown", { severity: "unknown" }, /severity/],
    ["severity in Sentinel's case", { severity: "High" }, /severity/],
    ["no category", { category: undefined }, /'category'/],
    ["no entityDefinitions", { entityDefinitions: undefined }, /1 to 100/],
    ["no entity", { entityDefinitions: [] }, /1 to 100/],
    ["101 entities", { entityDefinitions: Array.from({ length: 101 }, () => entity({})) }, /1 to 100/],
    [
      "an unknown entity type",
      { entityDefinitions: [entity({ entityType: "domain", entityIdentifier: "domainName" })] },
      /entityType/,
    ],
    [
      "an identifier of another type",
      { entityDefinitions: [entity({ entityType: "ip", entityIdentifier: "url" })] },
      /not a supported identifier/,
    ],
    ["a value of 1,001 characters", { entityDefinitions: [entity({ identifierValue: "u".repeat(1001) })] }, /1000/],
    ["an empty value", { entityDefinitions: [entity({ identifierValue: "" })] }, /identifierValue/],
    [
      "a sha256 that is not one",
      { entityDefinitions: [entity({ entityType: "file", entityIdentifier: "sha256", identifierValue: "abc" })] },
      /sha256/,
    ],
    [
      "an aadUserId that is not a GUID",
      { entityDefinitions: [entity({ entityIdentifier: "aadUserId", identifierValue: "john" })] },
      /aadUserId/,
    ],
    [
      "an IP address that is not one",
      { entityDefinitions: [entity({ entityType: "ip", entityIdentifier: "address", identifierValue: "300.1.1.1" })] },
      /address/,
    ],
    ["an unknown role", { entityDefinitions: [entity({ role: "victim" })] }, /role/],
    ["an unknown entity property", { entityDefinitions: [entity({ name: "John" })] }, /'name'/],
    ["no impacted entity", { entityDefinitions: [entity({ role: "related" })] }, /impacted/],
    ["a technique that is not one", { mitreTechniques: ["Phishing"] }, /technique/],
    ["a linkToIncident that is not a number", { linkToIncident: "INC-42" }, /Int64/],
    ["isExcludedFromCorrelation as a string", { isExcludedFromCorrelation: "true" }, /Boolean/],
  ])("400 for %s, and nothing is made", async (_, change, message) => {
    const body = anAlert(change);
    for (const key of Object.keys(change)) if (change[key] === undefined) delete body[key];
    const { status, body: answer } = await call("POST", "/beta/security/alerts_v2", body);
    expect(status).toBe(400);
    expect(answer.error.code).toBe("BadRequest");
    expect(answer.error.message).toMatch(message);
    expect(fake.alerts.size).toBe(0);
    expect(fake.incidents.size).toBe(0);
  });

  it("takes the limits themselves: a 5,000-character description, 100 entities, a 1,000-character value, every documented identifier", async () => {
    const ok = async (change: Record<string, unknown>) =>
      (await call("POST", "/beta/security/alerts_v2", anAlert(change))).status;
    expect(await ok({ description: "d".repeat(5000) })).toBe(201);
    expect(await ok({ entityDefinitions: Array.from({ length: 100 }, () => entity({})) })).toBe(201);
    expect(
      await ok({
        entityDefinitions: [
          entity({ entityType: "url", entityIdentifier: "url", identifierValue: `https://x.test/${"u".repeat(985)}` }),
        ],
      }),
    ).toBe(201);
    const all = [
      ["device", "deviceName", "DESKTOP-1"],
      ["file", "sha256", SHA256],
      ["mailbox", "mailboxPrimaryAddress", "finance@contoso.com"],
      ["securityGroup", "objectGuid", "4a1c8c3e-2b7d-4e59-9f06-3d2a1b0c9e8f"],
      ["cloudApplication", "name", "Payroll"],
      ["registryValue", "valueName", "Run"],
    ].map(([entityType, entityIdentifier, identifierValue]) => entity({ entityType, entityIdentifier, identifierValue }));
    expect(
      await ok({
        entityDefinitions: all,
        mitreTechniques: ["T1566", "T1566.002"],
        isExcludedFromCorrelation: true,
        sentinelWorkspace: "ws",
      }),
    ).toBe(201);
  });

  it("415 without a JSON content type", async () => {
    const { status } = await call("POST", "/beta/security/alerts_v2", anAlert(), { "content-type": "text/plain" });
    expect(status).toBe(415);
    expect(fake.alerts.size).toBe(0);
  });

  it("manual alerts are made on beta only", async () => {
    expect((await call("POST", "/v1.0/security/alerts_v2", anAlert())).status).toBe(405);
    expect(fake.alerts.size).toBe(0);
  });
});

describe("GET /security/alerts_v2", () => {
  it("filters on the documented properties, newest first, a page at a time with @odata.nextLink", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await call("POST", "/beta/security/alerts_v2", anAlert({ title: `a${i}` }))).body.id);
    fake.addDetectedAlert({});
    const since = fake.alerts.get(made[1]!)!.createdDateTime;
    let next: string | undefined =
      `/beta/security/alerts_v2?$filter=${encodeURIComponent(`createdDateTime ge ${since} and serviceSource eq 'microsoft365Defender'`)}&$top=2`;
    const seen: string[] = [];
    let pages = 0;
    while (next) {
      const page: any = (await call("GET", next)).body;
      pages++;
      seen.push(...page.value.map((a: { id: string }) => a.id));
      next = page["@odata.nextLink"]?.slice(fake.graphEndpoint.length);
    }
    expect(seen).toEqual(made.slice(1).reverse());
    expect(pages).toBe(2);
  });

  it.each([
    "title eq 'x'",
    "description eq 'x'",
    "providerAlertId eq 'manual_1'",
    "detectionSource eq 'manual'",
    "contains(description,'x')",
  ])("400 for $filter=%s (not filterable)", async (filter) => {
    const { status, body } = await call("GET", `/beta/security/alerts_v2?$filter=${encodeURIComponent(filter)}`);
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/filter/i);
  });

  it("400 for a time compared with eq, or that is not a time", async () => {
    expect(
      (await call("GET", `/beta/security/alerts_v2?$filter=${encodeURIComponent("createdDateTime eq 2026-12-08T09:00:00Z")}`))
        .status,
    ).toBe(400);
    expect(
      (await call("GET", `/beta/security/alerts_v2?$filter=${encodeURIComponent("createdDateTime ge yesterday")}`)).status,
    ).toBe(400);
  });
});

describe("/v1.0/security/incidents", () => {
  async function anIncidentId(): Promise<string> {
    return (await call("POST", "/beta/security/alerts_v2", anAlert())).body.incidentId as string;
  }

  it("GET one (404 for an unknown id), list changed since with $top and @odata.nextLink, newest change first", async () => {
    const ids = [await anIncidentId(), await anIncidentId(), await anIncidentId(), await anIncidentId()];
    expect((await call("GET", "/v1.0/security/incidents/777")).status).toBe(404);
    expect((await call("GET", `/v1.0/security/incidents/${ids[0]}`)).body).toMatchObject({
      id: ids[0],
      status: "active",
      customTags: [],
    });
    const since = fake.incidents.get(ids[1]!)!.lastUpdateDateTime;
    fake.editInPortal(ids[0]!, { assignedTo: "adele@contoso.com" });
    const first = (
      await call("GET", `/v1.0/security/incidents?$filter=${encodeURIComponent(`lastUpdateDateTime gt ${since}`)}&$top=2`)
    ).body;
    expect(first.value.map((i: { id: string }) => i.id)).toEqual([ids[0], ids[3]]);
    const second = (await call("GET", first["@odata.nextLink"].slice(fake.graphEndpoint.length))).body;
    expect(second.value.map((i: { id: string }) => i.id)).toEqual([ids[2]]);
    expect(second["@odata.nextLink"]).toBeUndefined();
  });

  it("at most 50 incidents a page whatever $top asks", async () => {
    for (let i = 0; i < 51; i++) await anIncidentId();
    const page = (await call("GET", "/v1.0/security/incidents?$top=500")).body;
    expect(page.value).toHaveLength(50);
    expect(page["@odata.nextLink"]).toBeDefined();
  });

  it("PATCH sets status, owner, classification, determination, tags and resolving comment, and moves lastUpdateDateTime", async () => {
    const id = await anIncidentId();
    const before = fake.incidents.get(id)!.lastUpdateDateTime;
    const change = {
      status: "resolved",
      assignedTo: "adele@contoso.com",
      classification: "truePositive",
      determination: "phishing",
      customTags: ["Payroll"],
      resolvingComment: "Mail purged.",
    };
    const { status, body } = await call("PATCH", `/v1.0/security/incidents/${id}`, change);
    expect(status).toBe(200);
    expect(body).toMatchObject(change);
    expect(body.lastUpdateDateTime > before).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ["an unknown status", { status: "closed" }],
    ["Sentinel's status", { status: "Active" }],
    ["an unknown classification", { classification: "benignPositive" }],
    ["an unknown determination", { determination: "notMalicious" }],
    ["tags that are not strings", { customTags: [1] }],
    ["a property that can't be set", { severity: "high" }],
    ["a read-only property", { redirectIncidentId: "1" }],
  ])("PATCH with %s: 400, nothing changed", async (_, change) => {
    const id = await anIncidentId();
    const before = JSON.stringify(fake.incidents.get(id));
    const { status, body } = await call("PATCH", `/v1.0/security/incidents/${id}`, change);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BadRequest");
    expect(JSON.stringify(fake.incidents.get(id))).toBe(before);
  });

  it("PATCH of an unknown incident: 404", async () => {
    expect((await call("PATCH", "/v1.0/security/incidents/4040", { status: "active" })).status).toBe(404);
  });

  it("POST comments adds one and answers with all of them; an empty one is 400; an unknown incident 404", async () => {
    const id = await anIncidentId();
    const comment = (text: string) =>
      call("POST", `/v1.0/security/incidents/${id}/comments`, {
        "@odata.type": "microsoft.graph.security.alertComment",
        comment: text,
      });
    await comment("first");
    const { status, body } = await comment("second");
    expect(status).toBe(200);
    expect(body.value.map((c: { comment: string }) => c.comment)).toEqual(["first", "second"]);
    expect((await comment(" ")).status).toBe(400);
    expect((await call("POST", "/v1.0/security/incidents/4040/comments", { comment: "x" })).status).toBe(404);
    expect(fake.incidents.get(id)!.comments).toHaveLength(2);
  });

  it("a merge: the merged incident is redirected to the surviving one, its alerts move", async () => {
    const from = await anIncidentId();
    const into = await anIncidentId();
    fake.merge(from, into);
    const merged = (await call("GET", `/v1.0/security/incidents/${from}`)).body;
    expect(merged).toMatchObject({ status: "redirected", redirectIncidentId: into });
    expect([...fake.alerts.values()].every((a) => a.incidentId === into)).toBe(true);
  });

  it("incidents are v1.0 here", async () => {
    expect((await call("GET", "/beta/security/incidents")).status).toBe(400);
  });
});

describe("faults", () => {
  it("429 with Retry-After, then heals", async () => {
    fake.failNext(1, { kind: "status", status: 429, retryAfter: "7" });
    const throttled = await call("GET", "/v1.0/security/incidents");
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("7");
    expect(throttled.body.error.code).toBe("TooManyRequests");
    expect((await call("GET", "/v1.0/security/incidents")).status).toBe(200);
  });

  it("5xx on a matching path only; failAll until heal", async () => {
    fake.failNext(1, { kind: "status", status: 503 }, /^POST /);
    expect((await call("GET", "/v1.0/security/incidents")).status).toBe(200);
    expect((await call("POST", "/beta/security/alerts_v2", anAlert())).status).toBe(503);
    expect(fake.alerts.size).toBe(0);
    fake.failAll({ kind: "status", status: 500 });
    expect((await call("GET", "/v1.0/security/incidents")).status).toBe(500);
    fake.heal();
    expect((await call("GET", "/v1.0/security/incidents")).status).toBe(200);
  });

  it("a connection dropped before the request is handled: nothing is made", async () => {
    fake.failNext(1, { kind: "drop" });
    await expect(call("POST", "/beta/security/alerts_v2", anAlert())).rejects.toThrow("fetch failed");
    expect(fake.alerts.size).toBe(0);
    expect(fake.calls("POST")[0]!.status).toBe(-1);
  });

  it("a connection dropped AFTER the alert was made: the caller gets no answer, Defender has the alert", async () => {
    fake.failNext(1, { kind: "drop-after" });
    await expect(call("POST", "/beta/security/alerts_v2", anAlert())).rejects.toThrow("fetch failed");
    expect(fake.alerts.size).toBe(1);
    expect(fake.incidents.size).toBe(1);
  });

  it("a stall: the answer comes late, and the request is handled all the same", async () => {
    fake.failNext(1, { kind: "stall", ms: 300 });
    const { status } = await call("POST", "/beta/security/alerts_v2", anAlert());
    expect(status).toBe(201);
    expect(fake.alerts.size).toBe(1);
  });

  it("403 naming the missing permission, per operation, until granted", async () => {
    fake.revoke("SecurityAlert.Create.All");
    fake.revoke("SecurityAlert.ReadWrite.All");
    const refused = await call("POST", "/beta/security/alerts_v2", anAlert());
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain("SecurityAlert.Create.All");
    expect(fake.alerts.size).toBe(0);
    expect((await call("GET", "/v1.0/security/incidents")).status).toBe(200);
    fake.grant("SecurityAlert.Create.All");
    const made = await call("POST", "/beta/security/alerts_v2", anAlert());
    expect(made.status).toBe(201);
    fake.revoke("SecurityIncident.ReadWrite.All");
    expect((await call("GET", `/v1.0/security/incidents/${made.body.incidentId}`)).status).toBe(200);
    const patch = await call("PATCH", `/v1.0/security/incidents/${made.body.incidentId}`, { status: "inProgress" });
    expect(patch.status).toBe(403);
    expect(patch.body.error.message).toContain("SecurityIncident.ReadWrite.All");
  });

  it("records every request, and can put list pages' next links on another host", async () => {
    for (let i = 0; i < 3; i++) await call("POST", "/beta/security/alerts_v2", anAlert());
    fake.nextLinkOrigin("https://elsewhere.test");
    const page = (await call("GET", "/v1.0/security/incidents?$top=1")).body;
    expect(page["@odata.nextLink"]).toMatch(/^https:\/\/elsewhere\.test\/v1\.0\/security\/incidents\?/);
    expect(fake.calls("POST", /alerts_v2$/)).toHaveLength(3);
    expect(fake.calls("POST")[0]!.headers.authorization).toBe(`Bearer ${token}`);
  });
});
