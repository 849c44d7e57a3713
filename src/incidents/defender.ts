import type { AlertCategory } from "./attack";
import { defang, ENTITIES_MAX, type Entity, type EntityRole } from "./entities";
import { restrictedTitle } from "./mirror";
import { incidentRef, type Incident, type Severity } from "./model";

/**
 * Microsoft Defender as a second sink beside the Sentinel mirror: the port (`DefenderApi`, spoken by
 * src/adapters/defender-client.ts over Microsoft Graph) and the mapping of an incident to the manual
 * alert Defender makes from it (Graph beta `POST /security/alerts_v2` with
 * `#microsoft.graph.security.manualAlert`). No SDK here.
 *
 * The alert carries a marker naming our incident id at the end of its description. Why there: Graph
 * makes the alert's id and its `providerAlertId` itself ("manual_..."), so no field we set comes back
 * as an id, and `GET /security/alerts_v2` filters only on assignedTo, classification, determination,
 * createdDateTime, lastUpdateDateTime, severity, serviceSource and status (Graph's "List alerts_v2").
 * The description is kept as written (it also becomes the new incident's description), so a POST
 * whose answer was lost is found by listing the manual alerts Defender created since just before it
 * (`createdDateTime ge`, `serviceSource eq 'microsoft365Defender'`) and matching the marker here.
 */

/** Defender's alert severities (Graph `alertSeverity`). */
export type DefenderSeverity = "informational" | "low" | "medium" | "high";

export const DEFENDER_SEVERITIES: Record<Severity, DefenderSeverity> = {
  Informational: "informational",
  Low: "low",
  Medium: "medium",
  High: "high",
};

/** The entity types of a manual alert this bot sends (Graph `manualAlertEntityType`). */
export type DefenderEntityType = "user" | "device" | "file" | "ip" | "url" | "mailbox" | "securityGroup" | "cloudApplication";

/** One of the alert's `entityDefinitions` (Graph `entityDefinitionInput`). */
export interface EntityDefinition {
  entityType: DefenderEntityType;
  entityIdentifier: string;
  identifierValue: string;
  role: EntityRole;
}

/** The manual alert's body, without `@odata.type` (the adapter adds it). */
export interface ManualAlert {
  title: string;
  description: string;
  severity: DefenderSeverity;
  category: AlertCategory;
  mitreTechniques?: string[];
  recommendedActions?: string;
  /** 1 to 100, at least one impacted. */
  entityDefinitions: EntityDefinition[];
  /** Defender's id (Int64) of an incident the alert joins instead of opening a new one. */
  linkToIncident?: number;
  isExcludedFromCorrelation?: boolean;
  sentinelWorkspace?: string;
}

/** An alert as Defender holds it: what the sink keeps on our incident. */
export interface DefenderAlert {
  id: string;
  providerAlertId?: string | undefined;
  incidentId: string;
  alertWebUrl?: string | undefined;
  incidentWebUrl?: string | undefined;
  status: string;
  title: string;
  description: string;
  detectionSource?: string | undefined;
  createdDateTime: string;
}

export const DEFENDER_INCIDENT_STATUSES = ["active", "resolved", "inProgress", "redirected"] as const;
export type DefenderIncidentStatus = (typeof DEFENDER_INCIDENT_STATUSES)[number];
export const DEFENDER_CLASSIFICATIONS = ["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"] as const;
export type DefenderClassification = (typeof DEFENDER_CLASSIFICATIONS)[number];
/** Graph v1.0 `alertDetermination` (without `unknownFutureValue`). */
export const DEFENDER_DETERMINATIONS = [
  "unknown",
  "apt",
  "malware",
  "securityPersonnel",
  "securityTesting",
  "unwantedSoftware",
  "other",
  "multiStagedAttack",
  "compromisedUser",
  "phishing",
  "maliciousUserActivity",
  "clean",
  "insufficientData",
  "confirmedUserActivity",
  "lineOfBusinessApplication",
] as const;
export type DefenderDetermination = (typeof DEFENDER_DETERMINATIONS)[number];

export interface DefenderComment {
  comment: string;
  createdByDisplayName?: string | undefined;
  createdDateTime?: string | undefined;
}

/**
 * An incident as Defender holds it (Graph v1.0 `security/incident`). Its enums are evolvable: a
 * status, classification or determination this bot does not know is kept as Defender spells it.
 */
export interface DefenderIncident {
  id: string;
  displayName: string;
  status: string;
  severity: string;
  /** Set when Defender merged this incident into another (status `redirected`): the surviving one. */
  redirectIncidentId?: string | undefined;
  assignedTo?: string | undefined;
  classification?: string | undefined;
  determination?: string | undefined;
  customTags: string[];
  resolvingComment?: string | undefined;
  description?: string | undefined;
  incidentWebUrl?: string | undefined;
  createdDateTime?: string | undefined;
  lastUpdateDateTime: string;
  comments: DefenderComment[];
}

/** What `PATCH /security/incidents/{id}` may change; absent fields are left as they are. */
export interface IncidentPatch {
  status?: DefenderIncidentStatus;
  assignedTo?: string;
  classification?: DefenderClassification;
  determination?: DefenderDetermination;
  customTags?: string[];
  resolvingComment?: string;
}

/**
 * Microsoft Defender's alerts and incidents through Microsoft Graph. Failures are `DefenderError`s
 * (src/incidents/errors.ts). `createAlert` is not idempotent (Defender makes the id): after a failure
 * whose outcome is unknown, look with `findAlertByMarker` before creating again.
 */
export interface DefenderApi {
  createAlert(alert: ManualAlert): Promise<DefenderAlert>;
  /** The manual alert created at or after `createdSinceUtc` whose description carries `marker`, or undefined. */
  findAlertByMarker(marker: string, createdSinceUtc: string): Promise<DefenderAlert | undefined>;
  /** Undefined when Defender has no such incident. */
  getIncident(id: string): Promise<DefenderIncident | undefined>;
  /** Incidents updated after `sinceUtc`, a page at a time. */
  listIncidentsChangedSince(sinceUtc: string): AsyncIterable<DefenderIncident[]>;
  patchIncident(id: string, patch: IncidentPatch): Promise<DefenderIncident>;
  /** Not idempotent either: the sink records each comment sent (the incident's `comments` show what arrived). */
  addComment(incidentId: string, comment: string): Promise<void>;
}

/** Defender's limit on a manual alert's description. */
export const DESCRIPTION_MAX = 5000;

/**
 * The marker naming our incident (and, for a further alert linked to its Defender incident, which
 * one: `part`, e.g. "report-3") in the alert's description: what `findAlertByMarker` looks for. Each
 * alert's marker is its own: one never ends with another's.
 */
export function defenderMarker(incident: Pick<Incident, "id">, part?: string): string {
  return `[soc-incident-bot:${incident.id.toLowerCase()}${part ? `:${part}` : ""}]`;
}

export const RESTRICTED_ALERT_DESCRIPTION =
  "Need-to-know: what this incident is about, and whom it concerns, is kept in Microsoft Teams, seen only by the " +
  "SOC's restricted-cases team.";

/** The category an incident without one (made before categories existed) goes as. */
export const DEFAULT_CATEGORY: AlertCategory = "SuspiciousActivity";

export interface AlertOptions {
  /** Defender's id of an incident this one was attached to: the alert joins it. */
  linkToIncident?: string | undefined;
  /** Whether the alert takes part in Defender's correlation (merging with related incidents). */
  correlation: boolean;
  sentinelWorkspace?: string | undefined;
  /**
   * The bot's app id (Microsoft Entra), sent as the impacted cloud application when nothing else
   * may be: a restricted incident, or one with no impacted asset and a reporter without an object id.
   */
  botAppId: string;
  /** For a further alert of the same incident (a later report's entities): its own marker part. */
  part?: string | undefined;
}

export interface MappedAlert {
  alert: ManualAlert;
  /** The reporter was made the impacted user because the incident named no impacted asset (the card says so). */
  reporterAsImpacted: boolean;
  /** Entities not sent as entity definitions (no Defender type, or over the 100), listed in the description instead. */
  listedOnly: Entity[];
}

/**
 * Defender's entity for ours, per Defender's identifier table (entityDefinitionInput), or undefined
 * when Defender has no entity type for it:
 * - user (userPrincipalName | aadUserId), device (deviceName | deviceId), file (sha256 | sha1),
 *   ip (address), url (url), mailbox (mailboxPrimaryAddress): the same type and identifier;
 * - group (objectGuid) -> securityGroup objectGuid; app (appId | name) -> cloudApplication;
 * - domain -> url with the bare domain name: Defender has no domain entity, and its URL entity is the
 *   one whose page covers domains (the portal's "URL and domain" page). No scheme is added: that would
 *   claim a URL nobody reported.
 * - email (an address that is not one of our mailboxes, e.g. a phishing sender) and phone have no
 *   Defender entity type, and a script URL (javascript:, data:, vbscript:) is no address to pivot
 *   on: they are not sent as entities but listed, defanged, in the alert's description, so nothing
 *   reported is lost and nothing there can be clicked.
 */
export function entityDefinitionOf(entity: Entity): EntityDefinition | undefined {
  const as = (entityType: DefenderEntityType, entityIdentifier: string): EntityDefinition => ({
    entityType,
    entityIdentifier,
    identifierValue: entity.value,
    role: entity.role,
  });
  switch (entity.type) {
    case "url":
      // A URL that runs code or carries its content (javascript:, data:, vbscript:) is evidence to read, not an address.
      return entity.flags?.includes("script") ? undefined : as("url", "url");
    case "user":
    case "device":
    case "file":
    case "ip":
    case "mailbox":
      return as(entity.type, entity.identifier);
    case "group":
      return as("securityGroup", "objectGuid");
    case "app":
      return as("cloudApplication", entity.identifier);
    case "domain":
      return as("url", "url");
    case "email":
    case "phone":
      return undefined;
  }
}

function definitionKey(d: EntityDefinition): string {
  return `${d.entityType}:${d.entityIdentifier}:${d.identifierValue}`;
}

const MARKER_LEAD = "\n\nIn Microsoft Teams: ";

/** The description, the listed indicators and the marker, cut to Defender's 5,000 characters (the marker always kept). */
function describe(incident: Incident, words: string, listed: readonly Entity[], part: string | undefined): string {
  const tail = `${MARKER_LEAD}${incidentRef(incident)} ${defenderMarker(incident, part)}`;
  const lines = listed.map((e) => `- ${e.type}: ${defang(e)}`);
  const list = lines.length ? `\n\nAlso reported (not sent as entities):\n${lines.join("\n")}` : "";
  const body = `${words}${list}`;
  const room = DESCRIPTION_MAX - tail.length;
  return (body.length > room ? `${body.slice(0, room - 1)}…` : body) + tail;
}

/**
 * The manual alert for an incident. A restricted incident goes without its words, as to Sentinel
 * (src/incidents/mirror.ts `mirroredFields`): a placeholder title and description, the neutral
 * category, no techniques, recommended actions or entities (who is concerned is its most sensitive
 * part), and the bot's app as the one impacted asset Defender requires. Otherwise: every entity
 * Defender has a type for; when none is impacted, the reporter (by object id) as the impacted user.
 */
export function manualAlertOf(incident: Incident, options: AlertOptions): MappedAlert {
  const restricted = incident.restricted === true;
  const botApp: EntityDefinition = {
    entityType: "cloudApplication",
    entityIdentifier: "appId",
    identifierValue: options.botAppId,
    role: "impacted",
  };
  const definitions: EntityDefinition[] = [];
  const listedOnly: Entity[] = [];
  let reporterAsImpacted = false;
  if (restricted) {
    definitions.push(botApp);
  } else {
    const seen = new Set<string>();
    for (const entity of incident.entities ?? []) {
      const definition = entityDefinitionOf(entity);
      if (!definition) listedOnly.push(entity);
      else if (!seen.has(definitionKey(definition))) {
        seen.add(definitionKey(definition));
        definitions.push(definition);
      }
    }
    if (!definitions.some((d) => d.role === "impacted")) {
      const reporter = incident.createdBy.objectId;
      const impacted: EntityDefinition = reporter
        ? { entityType: "user", entityIdentifier: "aadUserId", identifierValue: reporter.toLowerCase(), role: "impacted" }
        : botApp;
      reporterAsImpacted = reporter !== undefined;
      // The reporter may already be a related user: made impacted, not sent twice.
      const same = definitions.findIndex((d) => definitionKey(d) === definitionKey(impacted));
      if (same >= 0) definitions.splice(same, 1);
      // Room for it within Defender's 100: the last related entities are listed instead.
      if (definitions.length >= ENTITIES_MAX) {
        const dropped = new Set(definitions.splice(ENTITIES_MAX - 1).map(definitionKey));
        for (const entity of incident.entities ?? []) {
          const d = entityDefinitionOf(entity);
          if (d && dropped.has(definitionKey(d))) listedOnly.push(entity);
        }
      }
      definitions.unshift(impacted);
    }
  }
  const alert: ManualAlert = {
    title: restricted ? restrictedTitle(incident) : incident.title,
    description: describe(incident, restricted ? RESTRICTED_ALERT_DESCRIPTION : incident.description, listedOnly, options.part),
    severity: DEFENDER_SEVERITIES[incident.severity],
    category: restricted ? DEFAULT_CATEGORY : (incident.category ?? DEFAULT_CATEGORY),
    entityDefinitions: definitions,
    isExcludedFromCorrelation: !options.correlation,
    ...(!restricted && incident.mitreTechniques?.length && { mitreTechniques: [...incident.mitreTechniques] }),
    ...(!restricted && incident.recommendedActions && { recommendedActions: incident.recommendedActions }),
    ...(options.linkToIncident !== undefined && { linkToIncident: defenderIncidentNumber(options.linkToIncident) }),
    ...(options.sentinelWorkspace && { sentinelWorkspace: options.sentinelWorkspace }),
  };
  return { alert, reporterAsImpacted, listedOnly };
}

/** A Defender incident id (digits, Int64) as the number `linkToIncident` takes; throws on anything else. */
export function defenderIncidentNumber(id: string): number {
  const n = /^\d{1,15}$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`"${id.slice(0, 40)}" is not a Defender incident id.`);
  return n;
}

/**
 * Whether an alert Defender holds is the one made with `marker`: made by hand, and its description
 * ends with the marker. Only the end counts: the words before it are people's, and someone could
 * type another incident's marker into them.
 */
export function carriesMarker(alert: Pick<DefenderAlert, "description" | "detectionSource">, marker: string): boolean {
  return (
    (alert.detectionSource === undefined || alert.detectionSource === "manual") && alert.description.trimEnd().endsWith(marker)
  );
}

/**
 * A comment as Defender gets it, ending with a marker of our comment's id: `POST .../comments` is not
 * idempotent either, so after a lost answer the sink reads the incident (`getIncident(...).comments`)
 * and sends the comment again only when no comment there ends with its marker.
 */
export function defenderComment(commentId: string, text: string): string {
  return `${text}\n${commentMarker(commentId)}`;
}

export function commentMarker(commentId: string): string {
  return `[soc-incident-bot:comment:${commentId.toLowerCase()}]`;
}

/** Whether Defender's incident already has our comment `commentId`. */
export function hasComment(incident: Pick<DefenderIncident, "comments">, commentId: string): boolean {
  const marker = commentMarker(commentId);
  return incident.comments.some((c) => c.comment.trimEnd().endsWith(marker));
}
