import type { Entity } from "./entities";
import { personKey, type Actor, type EntryPoint, type Incident, type MessageEvidence, type ReportAccount } from "./model";
import { checkForm, type FieldErrors, type IncidentForm } from "./validation";
import type { Access } from "./visibility";
import { isReporter } from "./visibility";

/**
 * Attach to an existing incident: an analyst's report (their form, or a message with its evidence)
 * joins an incident they may work on instead of making a new one. It is added the way a later report
 * of the same message is (IncidentService.addReport): a ReportAccount, bounded by REPORTS_KEPT_MAX,
 * its entities merged, need-to-know only growing. The chosen id is the client's: it is checked here,
 * never trusted (it must exist in this workspace and be one the analyst sees in full).
 */

/** What the analyst reads next to the field when the id is not one they may add to (the same words for every reason). */
export const ATTACH_REFUSED =
  "Choose an incident from the list: that one does not exist, or you may not add to it. Nothing was saved.";

/** The longest incident id looked up; every id the bot makes is a UUID (36 characters). */
const ATTACH_ID_MAX = 64;

export interface AttachOptions {
  /** The Teams message it came from, recorded with the report. */
  evidence?: MessageEvidence;
  /** How to reach the analyst later (the transport's address). */
  contact?: Record<string, unknown>;
  /** Entities the report carries besides those found in its words, merged into the incident's. */
  entities?: readonly Entity[];
  /** A reported message's whole text and link targets, for extraction (the description holds at most part of it). */
  message?: { text: string; links: readonly string[] };
  /** The id a new incident of the reported message would have: later reports of the message join the target. */
  messageIncidentId?: string;
}

export type AttachResult =
  /** Added; `access` is what the analyst may see of it now (a restricted report may have restricted it). */
  | { kind: "added"; incident: Incident; before: Incident; access: Exclude<Access, "none"> }
  /** The incident keeps as many reports as it can: counted, nothing of it kept. */
  | { kind: "counted"; incident: Incident }
  /** This submission had already been added (a double click, a retry): nothing written. */
  | { kind: "already"; incident: Incident; access: Exclude<Access, "none"> }
  /** Nothing written: `errors` for the report's fields, `attachTo` for the chosen incident. */
  | { kind: "invalid"; errors: FieldErrors; attachTo?: string };

/** Whether a typed id is worth looking up at all (anything else is refused without a read). */
export function attachIdShape(id: string): boolean {
  return id.length > 0 && id.length <= ATTACH_ID_MAX && /^[0-9a-z-]+$/i.test(id);
}

/**
 * The report an analyst attaches, from their form: its title, description, severity and need-to-know.
 * What only a new incident has (status, owner, classification, tags) is not part of a report.
 */
/** Why a category, techniques or recommended actions can't come with a report added to an incident. */
export const INCIDENTS_OWN =
  "This is the incident's own, not the report's: clear it to add the report, or set it on the incident with Edit.";

export function attachedAccount(
  form: IncidentForm,
  actor: Actor,
  entryPoint: EntryPoint,
  nowUtc: string,
  evidence: MessageEvidence | undefined,
): { ok: true; account: ReportAccount; typed: Entity[] } | { ok: false; errors: FieldErrors } {
  const checked = checkForm({ ...form, status: "New", closing: "", closingComment: "", owner: "", tags: "" });
  // The incident's own fields are not a report's: refused, never dropped unseen (the form comes back as typed).
  const own: FieldErrors = {};
  for (const field of ["category", "techniques", "recommendedActions"] as const) {
    if ((form[field] ?? "").trim()) own[field] = INCIDENTS_OWN;
  }
  if (!checked.ok || Object.keys(own).length > 0) return { ok: false, errors: { ...(checked.ok ? {} : checked.errors), ...own } };
  const v = checked.value;
  return {
    ok: true,
    account: {
      reporter: actor,
      timeUtc: nowUtc,
      entryPoint,
      title: v.title,
      words: v.description,
      severity: v.severity,
      ...(v.restricted && { restricted: true as const }),
      ...(evidence && { evidence }),
      submissionId: v.id,
    },
    // The assets and evidence typed in the form's boxes (checked by checkForm): the report brings them too.
    typed: [...v.impactedTyped, ...v.evidenceTyped],
  };
}

/**
 * Whether `account` is already on the incident. A report of a message is one per person (they
 * reported it); an attached report is one per submission, so an analyst may attach several messages
 * to an incident they already reported, and a double click adds one.
 */
export function alreadyIn(incident: Incident, account: ReportAccount): boolean {
  if (!account.submissionId) return isReporter(incident, account.reporter);
  const who = personKey(account.reporter);
  return (incident.reports ?? []).some((r) => r.submissionId === account.submissionId && personKey(r.reporter) === who);
}
