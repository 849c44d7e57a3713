import {
  carriesMarker,
  commentMarker,
  defenderComment,
  hasComment,
  defenderIncidentNumber,
  defenderMarker,
  DESCRIPTION_MAX,
  entityDefinitionOf,
  manualAlertOf,
  type AlertOptions,
} from "../../src/incidents/defender";
import { checkEntity, type Entity, type EntityIdentifier, type EntityRole, type EntityType } from "../../src/incidents/entities";
import type { Incident } from "../../src/incidents/model";
import { manualAlertProblem } from "../support/fake-defender";
import { aNewIncident } from "../support/builders";

const REPORTER = "5b7e0c1a-2d3f-4a5b-8c6d-7e8f9a0b1c2d";
const BOT_APP = "0b5c9a4e-1111-4222-8333-444455556666";
const OPTIONS: AlertOptions = { correlation: true, botAppId: BOT_APP };

function anIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    ...aNewIncident(),
    id: "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f",
    incidentNumber: 42,
    revision: 1,
    createdBy: { objectId: REPORTER, name: "Megan Bowen" },
    ...overrides,
  };
}

function entity(type: EntityType, raw: string, role: EntityRole = "related", identifier?: EntityIdentifier): Entity {
  const checked = checkEntity(type, raw, role, "typed", identifier);
  if (!checked.ok) throw new Error(`${type} ${raw}: ${checked.error}`);
  return checked.entity;
}

describe("Defender's manual alert for an incident", () => {
  it("maps each severity", () => {
    const severities = (["Informational", "Low", "Medium", "High"] as const).map(
      (severity) => manualAlertOf(anIncident({ severity }), OPTIONS).alert.severity,
    );
    expect(severities).toEqual(["informational", "low", "medium", "high"]);
  });

  it.each([
    ["user", "adele.vance@contoso.com", "userPrincipalName", "user", "userPrincipalName"],
    ["user", "C3A9E0F1-1B2C-4D3E-8F40-5A6B7C8D9E01", "aadUserId", "user", "aadUserId"],
    ["device", "DESKTOP-VICTIM01", "deviceName", "device", "deviceName"],
    ["device", "73e7e2de709dff64ef64b1d0c30e67fab63279db", "deviceId", "device", "deviceId"],
    ["file", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256", "file", "sha256"],
    ["file", "5f1e8acedc065031aad553b710838eb366cfee9a", "sha1", "file", "sha1"],
    ["ip", "185.220.101.50", "address", "ip", "address"],
    ["url", "https://evil-payroll.com/login", "url", "url", "url"],
    ["mailbox", "finance@contoso.com", "mailboxPrimaryAddress", "mailbox", "mailboxPrimaryAddress"],
    ["group", "4a1c8c3e-2b7d-4e59-9f06-3d2a1b0c9e8f", "objectGuid", "securityGroup", "objectGuid"],
    ["app", "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "appId", "cloudApplication", "appId"],
    ["app", "Contoso Payroll", "name", "cloudApplication", "name"],
    ["domain", "evil-payroll.com", "domainName", "url", "url"],
  ] as const)("%s %s (%s) -> %s %s", (type, raw, identifier, entityType, entityIdentifier) => {
    const ours = entity(type, raw, "related", identifier);
    expect(entityDefinitionOf(ours)).toEqual({ entityType, entityIdentifier, identifierValue: ours.value, role: "related" });
  });

  it("a domain goes as a url with the bare domain name, no scheme added", () => {
    expect(entityDefinitionOf(entity("domain", "evil-payroll[.]com"))?.identifierValue).toBe("evil-payroll.com");
  });

  it("email addresses and phone numbers (no Defender type) are listed, defanged, in the description, not sent as entities", () => {
    const incident = anIncident({
      entities: [
        entity("device", "DESKTOP-VICTIM01", "impacted"),
        entity("email", "ceo-office@evil-payroll.com"),
        entity("phone", "+44 20 7946 0958"),
      ],
    });
    const { alert, listedOnly } = manualAlertOf(incident, OPTIONS);
    expect(alert.entityDefinitions).toEqual([entityDefinitionOf(incident.entities![0]!)]);
    expect(listedOnly.map((e) => e.type)).toEqual(["email", "phone"]);
    expect(alert.description).toContain("- email: ceo-office[@]evil-payroll[.]com");
    expect(alert.description).toContain(`- phone: ${incident.entities![2]!.value}`);
    expect(alert.description).not.toContain("ceo-office@evil-payroll.com");
  });

  it("a script URL (javascript:, data:) is listed, defanged, not sent as a url entity", () => {
    const script = entity("url", "javascript:alert(document.domain)");
    expect(script.flags).toContain("script");
    expect(entityDefinitionOf(script)).toBeUndefined();
    const { alert, listedOnly } = manualAlertOf(anIncident({ entities: [script] }), OPTIONS);
    expect(listedOnly).toEqual([script]);
    expect(alert.description).toContain("- url: javascript[:]alert(document[.]domain)");
  });

  it("keeps title, description, category, techniques, recommended actions; the marker ends the description", () => {
    const incident = anIncident({
      title: "Phishing mail with payroll link",
      description: "Megan got a mail asking to confirm her bank details.",
      category: "InitialAccess",
      mitreTechniques: ["T1566", "T1566.002"],
      recommendedActions: "Purge the message; reset the password if the link was opened.",
      entities: [entity("user", "megan.bowen@contoso.com", "impacted")],
    });
    const { alert, reporterAsImpacted } = manualAlertOf(incident, { ...OPTIONS, sentinelWorkspace: "soc-workspace" });
    expect(alert).toMatchObject({
      title: "Phishing mail with payroll link",
      category: "InitialAccess",
      mitreTechniques: ["T1566", "T1566.002"],
      recommendedActions: "Purge the message; reset the password if the link was opened.",
      isExcludedFromCorrelation: false,
      sentinelWorkspace: "soc-workspace",
    });
    expect(alert.description.startsWith(incident.description)).toBe(true);
    expect(alert.description.endsWith(`INC-42 ${defenderMarker(incident)}`)).toBe(true);
    expect(reporterAsImpacted).toBe(false);
    expect(manualAlertProblem({ "@odata.type": "#microsoft.graph.security.manualAlert", ...alert })).toBeUndefined();
  });

  it("an incident without a category goes as SuspiciousActivity; correlation off excludes it", () => {
    const { alert } = manualAlertOf(anIncident({ category: undefined }), { ...OPTIONS, correlation: false });
    expect(alert.category).toBe("SuspiciousActivity");
    expect(alert.isExcludedFromCorrelation).toBe(true);
  });

  it("no impacted asset: the reporter, by object id, is the impacted user (and the result says so)", () => {
    const { alert, reporterAsImpacted } = manualAlertOf(anIncident({ entities: [entity("ip", "185.220.101.50")] }), OPTIONS);
    expect(reporterAsImpacted).toBe(true);
    expect(alert.entityDefinitions[0]).toEqual({
      entityType: "user",
      entityIdentifier: "aadUserId",
      identifierValue: REPORTER,
      role: "impacted",
    });
    expect(alert.entityDefinitions).toHaveLength(2);
  });

  it("the reporter already named as a related user is made impacted, not sent twice", () => {
    const { alert } = manualAlertOf(anIncident({ entities: [entity("user", REPORTER, "related", "aadUserId")] }), OPTIONS);
    expect(alert.entityDefinitions).toEqual([
      { entityType: "user", entityIdentifier: "aadUserId", identifierValue: REPORTER, role: "impacted" },
    ]);
  });

  it("no impacted asset and a reporter without an object id: the bot's app is the impacted asset", () => {
    const { alert, reporterAsImpacted } = manualAlertOf(
      anIncident({ createdBy: { name: "Guest", teamsId: "29:1abc" }, entities: [] }),
      OPTIONS,
    );
    expect(reporterAsImpacted).toBe(false);
    expect(alert.entityDefinitions).toEqual([
      { entityType: "cloudApplication", entityIdentifier: "appId", identifierValue: BOT_APP, role: "impacted" },
    ]);
  });

  it("100 related entities and no impacted one: 100 definitions, the reporter first, the last related one listed instead", () => {
    const ips = Array.from({ length: 100 }, (_, i) => entity("ip", `203.0.113.${i + 1}`));
    const { alert, listedOnly } = manualAlertOf(anIncident({ entities: ips }), OPTIONS);
    expect(alert.entityDefinitions).toHaveLength(100);
    expect(alert.entityDefinitions[0]!.identifierValue).toBe(REPORTER);
    expect(listedOnly.map((e) => e.value)).toEqual(["203.0.113.100"]);
    expect(alert.description).toContain("- ip: 203.0.113[.]100");
    expect(manualAlertProblem({ "@odata.type": "#microsoft.graph.security.manualAlert", ...alert })).toBeUndefined();
  });

  it("a long description is cut to 5,000 characters, the marker kept at the end", () => {
    const incident = anIncident({ description: "x".repeat(6000) });
    const { alert } = manualAlertOf(incident, OPTIONS);
    expect(alert.description).toHaveLength(DESCRIPTION_MAX);
    expect(alert.description.endsWith(defenderMarker(incident))).toBe(true);
    expect(alert.description).toContain("…");
    const fits = manualAlertOf(anIncident({ description: "y".repeat(100) }), OPTIONS).alert.description;
    expect(fits).not.toContain("…");
  });

  it("a restricted incident goes without its words, entities, techniques or actions; the bot's app is the impacted asset", () => {
    const incident = anIncident({
      restricted: true,
      title: "Harassment complaint about a manager",
      description: "Lynne reports repeated remarks by her manager.",
      category: "Collection",
      mitreTechniques: ["T1114"],
      recommendedActions: "Talk to HR first.",
      entities: [entity("user", "lynne.robbins@contoso.com", "impacted"), entity("email", "manager.private@evil-payroll.com")],
    });
    const { alert, reporterAsImpacted, listedOnly } = manualAlertOf(incident, OPTIONS);
    const sent = JSON.stringify(alert);
    for (const words of ["Harassment", "Lynne", "lynne.robbins", "manager", "Talk to HR", "T1114", "Collection", REPORTER]) {
      expect(sent).not.toContain(words);
    }
    expect(alert.title).toBe("Restricted incident INC-42");
    expect(alert.category).toBe("SuspiciousActivity");
    expect(alert.entityDefinitions).toEqual([
      { entityType: "cloudApplication", entityIdentifier: "appId", identifierValue: BOT_APP, role: "impacted" },
    ]);
    expect(alert.description.endsWith(defenderMarker(incident))).toBe(true);
    expect(reporterAsImpacted).toBe(false);
    expect(listedOnly).toEqual([]);
    expect(manualAlertProblem({ "@odata.type": "#microsoft.graph.security.manualAlert", ...alert })).toBeUndefined();
  });

  it("linkToIncident goes as Defender's number; anything but an incident id is refused", () => {
    expect(manualAlertOf(anIncident(), { ...OPTIONS, linkToIncident: "28282" }).alert.linkToIncident).toBe(28282);
    expect(manualAlertOf(anIncident(), OPTIONS).alert).not.toHaveProperty("linkToIncident");
    for (const bad of ["", "0", "12a", "-5", "1e3", "9".repeat(16)])
      expect(() => defenderIncidentNumber(bad)).toThrow(RangeError);
  });
});

describe("the marker", () => {
  const incident = anIncident();
  const marker = defenderMarker(incident);

  it("is found at the end of a manual alert's description only", () => {
    const { alert } = manualAlertOf(incident, OPTIONS);
    expect(carriesMarker({ description: alert.description, detectionSource: "manual" }, marker)).toBe(true);
    expect(carriesMarker({ description: `${alert.description}\n`, detectionSource: "manual" }, marker)).toBe(true);
    expect(carriesMarker({ description: alert.description, detectionSource: "antivirus" }, marker)).toBe(false);
    expect(carriesMarker({ description: alert.description, detectionSource: "manual" }, defenderMarker({ id: "another" }))).toBe(
      false,
    );
  });

  it("a further alert of the same incident carries its own marker, which the first alert's does not match", () => {
    const first = manualAlertOf(incident, OPTIONS).alert;
    const later = manualAlertOf(incident, { ...OPTIONS, part: "report-1" }).alert;
    expect(later.description.endsWith(defenderMarker(incident, "report-1"))).toBe(true);
    expect(carriesMarker({ description: later.description }, marker)).toBe(false);
    expect(carriesMarker({ description: first.description }, defenderMarker(incident, "report-1"))).toBe(false);
  });

  it("typed by someone into another incident's words does not make that incident's alert ours", () => {
    const other = anIncident({ id: "11111111-2222-4333-8444-555555555555", description: `see ${marker} here` });
    const { alert } = manualAlertOf(other, OPTIONS);
    expect(alert.description).toContain(marker);
    expect(carriesMarker({ description: alert.description, detectionSource: "manual" }, marker)).toBe(false);
  });
});

describe("comments", () => {
  it("end with their id's marker, which tells whether Defender has one already (not when only quoted)", () => {
    const id = "6F1D2C3B-4A5E-4F60-8A7B-9C0D1E2F3A4B";
    const sent = defenderComment(id, "Megan Bowen in Teams: the link was opened.");
    expect(sent.startsWith("Megan Bowen in Teams: the link was opened.\n")).toBe(true);
    const comments = (...texts: string[]) => ({ comments: texts.map((comment) => ({ comment })) });
    expect(hasComment(comments("other", sent), id)).toBe(true);
    expect(hasComment(comments("other"), id)).toBe(false);
    expect(hasComment(comments(`quoting ${commentMarker(id)} here`), id)).toBe(false);
    expect(hasComment(comments(sent), "another-id")).toBe(false);
  });
});
