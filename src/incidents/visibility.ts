import { personKey, reporterKeys, type Actor, type Incident, type Status } from "./model";

/**
 * Need-to-know: the one rule for who may see an incident, applied on every path that returns or
 * shows one (search, a message reported again, triage buttons, a form sent twice).
 *
 * - SOC analysts see every incident, except restricted ones.
 * - Restricted incidents (HR, insider, legal) are seen by members of the restricted-cases team and
 *   by the incident's reporters, no one else.
 * - Employees see the incidents they reported, and only what they may know of them (`reporterView`).
 * - Anyone else gets the same answer as for an incident that does not exist.
 */

/** Who is looking. */
export interface Viewer {
  actor: Actor;
  /** A SOC analyst. */
  analyst: boolean;
  /** A member of the SOC's restricted-cases team. */
  restrictedTeam: boolean;
}

/** full: everything (the SOC); reporter: what a reporter may know; none: as if it did not exist. */
export type Access = "full" | "reporter" | "none";

export function accessTo(incident: Incident, viewer: Viewer): Access {
  const soc = incident.restricted ? viewer.restrictedTeam && viewer.analyst : viewer.analyst;
  if (soc) return "full";
  return isReporter(incident, viewer.actor) ? "reporter" : "none";
}

export function isReporter(incident: Pick<Incident, "createdBy" | "reports">, actor: Actor): boolean {
  const key = personKey(actor);
  return key !== undefined && reporterKeys(incident).includes(key);
}

/** What a reporter may know of an incident they reported: its number, status, who handles it, their own words. */
export interface ReporterView {
  id: string;
  incidentNumber: number;
  status: Status;
  /** The name of the person or group handling it; undefined while nobody is. */
  handledBy?: string;
  /** When they reported it. */
  reportedUtc: string;
  /** Their own words (the first report, or theirs among later ones). */
  title: string;
  words: string;
  restricted: boolean;
}

/** The reporter's view of `incident` for `actor`; undefined when they did not report it. */
export function reporterView(incident: Incident, actor: Actor): ReporterView | undefined {
  const key = personKey(actor);
  if (key === undefined) return undefined;
  const common = {
    id: incident.id,
    incidentNumber: incident.incidentNumber,
    status: incident.status,
    ...(incident.owner && { handledBy: incident.owner.assignedTo }),
    restricted: incident.restricted === true,
  };
  if (personKey(incident.createdBy) === key) {
    return { ...common, reportedUtc: incident.createdTimeUtc, title: incident.title, words: incident.description };
  }
  const mine = (incident.reports ?? []).find((r) => personKey(r.reporter) === key);
  return mine && { ...common, reportedUtc: mine.timeUtc, title: mine.title, words: mine.words };
}
