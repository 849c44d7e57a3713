import data from "./attack-techniques.json";

/**
 * Defender's alert categories: the MITRE ATT&CK Enterprise tactics, plus the categories Defender adds
 * (Microsoft Learn, "Alert categories" in Defender for Endpoint's alert queue, and Graph's alert
 * `category`). The value is what Defender's API takes; the label what people read.
 */
export const ALERT_CATEGORIES = [
  { value: "InitialAccess", label: "Initial access" },
  { value: "Execution", label: "Execution" },
  { value: "Persistence", label: "Persistence" },
  { value: "PrivilegeEscalation", label: "Privilege escalation" },
  { value: "DefenseEvasion", label: "Defense evasion" },
  { value: "CredentialAccess", label: "Credential access" },
  { value: "Discovery", label: "Discovery" },
  { value: "LateralMovement", label: "Lateral movement" },
  { value: "Collection", label: "Collection" },
  { value: "CommandAndControl", label: "Command and control" },
  { value: "Exfiltration", label: "Exfiltration" },
  { value: "Impact", label: "Impact" },
  { value: "Reconnaissance", label: "Reconnaissance" },
  { value: "ResourceDevelopment", label: "Resource development" },
  { value: "Exploit", label: "Exploit" },
  { value: "Malware", label: "Malware" },
  { value: "Ransomware", label: "Ransomware" },
  { value: "SuspiciousActivity", label: "Suspicious activity" },
  { value: "UnwantedSoftware", label: "Unwanted software" },
] as const;
export type AlertCategory = (typeof ALERT_CATEGORIES)[number]["value"];

/** The category a form sends ("InitialAccess"), or undefined; compared without case. */
export function alertCategory(value: string): AlertCategory | undefined {
  const v = value.trim().toLowerCase();
  return ALERT_CATEGORIES.find((c) => c.value.toLowerCase() === v)?.value;
}

export function categoryLabel(value: AlertCategory): string {
  return ALERT_CATEGORIES.find((c) => c.value === value)?.label ?? value;
}

export interface Technique {
  id: string;
  name: string;
  /** ATT&CK tactic short names (initial-access...). */
  tactics: string[];
}

/** The ATT&CK version the shipped technique list comes from (src/incidents/attack-techniques.json). */
export const ATTACK_VERSION: string = data.version;
const TECHNIQUES: readonly Technique[] = (data.techniques as [string, string, string[]][]).map(([id, name, tactics]) => ({
  id,
  name,
  tactics,
}));
const BY_ID = new Map(TECHNIQUES.map((t) => [t.id, t]));

/** At most this many techniques on one incident (Defender sets none; this keeps cards readable). */
export const TECHNIQUES_MAX = 20;

/** The technique with this id (T1566, t1566.002), or undefined when ATT&CK Enterprise has none. */
export function technique(id: string): Technique | undefined {
  return BY_ID.get(id.trim().toUpperCase());
}

/** "T1566.002 Spearphishing Link" (a sub-technique with its parent's name: "Phishing: Spearphishing Link"). */
export function techniqueTitle(t: Technique): string {
  const parent = t.id.includes(".") ? BY_ID.get(t.id.split(".")[0]!) : undefined;
  return `${t.id} ${parent ? `${parent.name}: ` : ""}${t.name}`;
}

/** Techniques whose id starts with, or whose name contains, what was typed; ids first. */
export function findTechniques(typed: string, limit: number): Technique[] {
  const q = typed.trim().toLowerCase();
  if (!q) return TECHNIQUES.filter((t) => !t.id.includes(".")).slice(0, limit);
  const byId = TECHNIQUES.filter((t) => t.id.toLowerCase().startsWith(q));
  const byName = TECHNIQUES.filter((t) => !t.id.toLowerCase().startsWith(q) && techniqueTitle(t).toLowerCase().includes(q));
  return [...byId, ...byName].slice(0, limit);
}

export type TechniquesResult = { ok: true; ids: string[] } | { ok: false; error: string };

/** The card's comma-separated technique ids, each checked against ATT&CK Enterprise, duplicates dropped. */
export function parseTechniques(raw: string): TechniquesResult {
  const ids: string[] = [];
  const unknown: string[] = [];
  for (const part of raw
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const t = technique(part);
    if (!t) unknown.push(part.slice(0, 20));
    else if (!ids.includes(t.id)) ids.push(t.id);
  }
  if (unknown.length) {
    return {
      ok: false,
      error:
        `Not an ATT&CK Enterprise ${ATTACK_VERSION} technique: ${unknown.slice(0, 3).join(", ")}. ` +
        "Choose techniques from the list.",
    };
  }
  if (ids.length > TECHNIQUES_MAX)
    return { ok: false, error: `Choose at most ${TECHNIQUES_MAX} techniques (you chose ${ids.length}).` };
  return { ok: true, ids };
}
