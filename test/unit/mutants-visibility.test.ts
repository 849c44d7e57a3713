import type { Actor, Incident } from "../../src/incidents/model";
import { accessTo, isReporter, reporterView, type Viewer } from "../../src/incidents/visibility";
import { aNewIncident } from "../support/builders";

/**
 * Need-to-know (src/incidents/visibility.ts): who sees an incident, and what a reporter sees of it.
 * Every path that shows an incident goes through these, so each case of the rule is pinned here.
 */

const MEGAN: Actor = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
const LEE: Actor = { objectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a04", name: "Lee Gu" };
const GUEST: Actor = { teamsId: "29:guest", name: "A guest" };
const STRANGER: Actor = { objectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a05", name: "Nestor Wilke" };
const NOBODY: Actor = { name: "Unknown to Teams" };

function anIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    ...aNewIncident({
      id: "3f2b8c1e-0000-4000-8000-00000000abcd",
      title: "My badge was cloned",
      description: "Megan's words",
      createdTimeUtc: "2026-11-20T10:00:00.000Z",
      createdBy: MEGAN,
      entryPoint: "chat-report",
    }),
    incidentNumber: 12,
    revision: 1,
    ...overrides,
  };
}

const viewer = (actor: Actor, analyst: boolean, restrictedTeam: boolean): Viewer => ({ actor, analyst, restrictedTeam });

describe("who sees an incident (accessTo)", () => {
  const open = anIncident();
  const restricted = anIncident({ restricted: true });

  it.each([
    // incident, who, access, actor, analyst, restricted team
    ["open", "an analyst", "full", LEE, true, false],
    ["open", "an analyst on the restricted team", "full", LEE, true, true],
    ["open", "its reporter", "reporter", MEGAN, false, false],
    ["open", "another employee", "none", STRANGER, false, false],
    ["open", "a restricted-team member who is not an analyst", "none", STRANGER, false, true],
    ["restricted", "an analyst on the restricted team", "full", LEE, true, true],
    ["restricted", "an analyst off the restricted team", "none", LEE, true, false],
    ["restricted", "a restricted-team member who is not an analyst", "none", STRANGER, false, true],
    ["restricted", "its reporter", "reporter", MEGAN, false, false],
    ["restricted", "its reporter, who is an analyst off the restricted team", "reporter", MEGAN, true, false],
    ["restricted", "another employee", "none", STRANGER, false, false],
  ] as const)("%s incident, %s: %s", (kind, _who, access, actor, analyst, team) => {
    expect(accessTo(kind === "open" ? open : restricted, viewer(actor, analyst, team))).toBe(access);
  });

  it("treats someone who reported later like the first reporter", () => {
    const reported = anIncident({
      restricted: true,
      reports: [
        { reporter: GUEST, timeUtc: "2026-11-20T11:00:00.000Z", entryPoint: "message-extension", title: "t", words: "w" },
      ],
    });
    expect(accessTo(reported, viewer(GUEST, false, false))).toBe("reporter");
  });
});

describe("who reported an incident (isReporter)", () => {
  const incident = anIncident({
    reports: [{ reporter: GUEST, timeUtc: "2026-11-20T11:00:00.000Z", entryPoint: "message-extension", title: "t", words: "w" }],
  });

  it("knows the creator by object id, whatever its case, and later reporters by Teams id", () => {
    expect(isReporter(incident, { objectId: MEGAN.objectId!.toLowerCase(), name: "Megan" })).toBe(true);
    expect(isReporter(incident, { teamsId: "29:guest", name: "Renamed" })).toBe(true);
    expect(isReporter(incident, STRANGER)).toBe(false);
  });

  it("never takes two people Teams did not identify for one another", () => {
    const anonymous = anIncident({ createdBy: { name: "Someone" } });
    expect(isReporter(anonymous, NOBODY)).toBe(false);
    expect(isReporter(anonymous, { name: "Someone" })).toBe(false);
  });
});

describe("what a reporter sees of their incident (reporterView)", () => {
  const incident = anIncident({
    status: "Active",
    severity: "High",
    owner: { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "Group", assignedTo: "SOC Tier 1" },
    classificationComment: "internal",
    reports: [
      {
        reporter: LEE,
        timeUtc: "2026-11-21T08:00:00.000Z",
        entryPoint: "message-extension",
        title: "Lee's title",
        words: "Lee's words",
      },
    ],
  });

  it("shows the first reporter the incident's title and description, who handles it, and nothing internal", () => {
    expect(reporterView(incident, MEGAN)).toStrictEqual({
      id: incident.id,
      incidentNumber: 12,
      status: "Active",
      handledBy: "SOC Tier 1",
      reportedUtc: "2026-11-20T10:00:00.000Z",
      title: "My badge was cloned",
      words: "Megan's words",
      restricted: false,
    });
  });

  it("shows a later reporter their own words and when they reported", () => {
    expect(reporterView(incident, LEE)).toMatchObject({
      reportedUtc: "2026-11-21T08:00:00.000Z",
      title: "Lee's title",
      words: "Lee's words",
      handledBy: "SOC Tier 1",
    });
  });

  it("says nobody handles it yet while it has no owner, and tells whether it is need-to-know", () => {
    const view = reporterView(anIncident({ restricted: true }), MEGAN);
    expect(view).not.toHaveProperty("handledBy");
    expect(view?.restricted).toBe(true);
  });

  it("shows nothing to someone who did not report it, or whom Teams did not identify", () => {
    expect(reporterView(incident, STRANGER)).toBeUndefined();
    expect(reporterView(anIncident({ createdBy: { name: "Someone" } }), NOBODY)).toBeUndefined();
  });
});
