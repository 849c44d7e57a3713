import {
  closingChoice,
  SEVERITIES,
  STATUSES,
  type Classification,
  type ClassificationReason,
  type Severity,
  type Status,
} from "./model";
import { alertCategory, ALERT_CATEGORIES, parseTechniques, type AlertCategory } from "./attack";
import { ENTITIES_MAX, type Entity } from "./entities";
import { parseEntityBox } from "./form-entities";
import { parseTags } from "./tags";

/** Sentinel allows any length; 256 keeps the incident list and cards readable (Azure resource names use the same bound). */
export const TITLE_MAX_LENGTH = 256;
export const DESCRIPTION_MAX_LENGTH = 5000;
/**
 * The closing comment. Sentinel's comments allow 30,000 characters, but the form echoes the comment
 * back on errors and must stay under Teams' 40 KB card budget, so the card takes 2,000.
 */
export const COMMENT_MAX_LENGTH = 2000;
/** Defender's limit on a manual alert's recommended actions. */
export const RECOMMENDED_ACTIONS_MAX_LENGTH = 5000;
/** The owner value that means "the person submitting". */
export const ASSIGN_TO_ME = "me";

/** The form as the card sends it: every input is text (a multi-select is one comma-separated string). */
export interface IncidentForm {
  submissionId: string;
  title: string;
  description: string;
  severity: string;
  status: string;
  closing: string;
  closingComment: string;
  owner: string;
  tags: string;
  /** "true": need-to-know (Input.Toggle); anything else: not restricted. */
  restricted?: string;
  /** Defender's alert category (ALERT_CATEGORIES' value). Absent on forms that have no such field (an employee's). */
  category?: string;
  /** ATT&CK technique ids, comma-separated. */
  techniques?: string;
  recommendedActions?: string;
  /** Impacted people and groups: directory object ids, comma-separated. */
  impacted?: string;
  /** Impacted assets typed: one per line or comma-separated. */
  impactedTyped?: string;
  /** The evidence choices still ticked (src/incidents/form-entities.ts evidenceId), comma-separated. */
  evidenceKept?: string;
  /** Evidence typed: one per line or comma-separated. */
  evidenceTyped?: string;
}

export const FORM_FIELDS = [
  "submissionId",
  "title",
  "description",
  "severity",
  "status",
  "closing",
  "closingComment",
  "owner",
  "tags",
  "restricted",
  "category",
  "techniques",
  "recommendedActions",
  "impacted",
  "impactedTyped",
  "evidenceKept",
  "evidenceTyped",
] as const satisfies readonly (keyof IncidentForm)[];

export type FieldName = Exclude<keyof IncidentForm, "submissionId" | "restricted" | "evidenceKept">;
export type FieldErrors = Partial<Record<FieldName, string>>;

/** A form that passed every rule that needs no directory. */
export interface ValidForm {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  classification?: Classification;
  classificationReason?: ClassificationReason;
  classificationComment?: string;
  /** "" = no owner, ASSIGN_TO_ME, or a directory object id still to resolve. */
  ownerRef: string;
  tags: string[];
  restricted: boolean;
  category?: AlertCategory;
  mitreTechniques: string[];
  recommendedActions: string;
  /** Impacted people and groups: directory object ids still to resolve (lower case). */
  impactedRefs: string[];
  impactedTyped: Entity[];
  evidenceKept: string[];
  evidenceTyped: Entity[];
}

export interface FormRules {
  /** The category must be chosen (the Defender sink is on). */
  categoryRequired?: boolean;
}

export type FormCheck = { ok: true; value: ValidForm } | { ok: false; errors: FieldErrors };

export type FormShape = { ok: true; form: IncidentForm } | { ok: false; problem: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Line breaks and tabs are fine in long text; other control characters are not.
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_ANY = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// Entra object ids are GUIDs; the Agents Playground's mock users have a 13-digit last group, so the check is loose.
const OBJECT_ID = /^[0-9a-f][0-9a-f-]{7,63}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function isObjectId(value: string): boolean {
  return OBJECT_ID.test(value);
}

/**
 * Reads the text fields a card sent: an object whose listed fields, when present, are text (or a
 * value `also` turns into text). Other keys (the verb, hidden data) are ignored; absent fields
 * become "" so defaults apply. Every field that is not text is named at once.
 */
export function readTextFields<F extends string>(
  data: unknown,
  fields: readonly F[],
  noun: string,
  also: (field: F, value: unknown) => string | undefined = () => undefined,
): { ok: true; values: Record<F, string> } | { ok: false; problem: string } {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, problem: `The ${noun} data is missing or is not an object.` };
  }
  const record = data as Record<string, unknown>;
  const values = {} as Record<F, string>;
  const wrong: string[] = [];
  for (const field of fields) {
    const value = record[field];
    const text = value === undefined || value === null ? "" : typeof value === "string" ? value : also(field, value);
    if (text === undefined) wrong.push(field);
    else values[field] = text;
  }
  if (wrong.length) return { ok: false, problem: `These ${noun} fields must be text: ${wrong.join(", ")}.` };
  return { ok: true, values };
}

/** Fields a client may send as a list of text as well as one comma-separated string (multi-selects). */
const LISTS: ReadonlySet<string> = new Set(["tags", "techniques", "impacted", "evidenceKept"]);

/** The incident form as a card sent it; a multi-select may come as a list as well as one comma-separated string. */
export function readForm(data: unknown): FormShape {
  const read = readTextFields(data, FORM_FIELDS, "form", (field, value) => {
    if (field === "restricted" && typeof value === "boolean") return String(value);
    return LISTS.has(field) && Array.isArray(value) && value.every((v) => typeof v === "string") ? value.join(",") : undefined;
  });
  return read.ok ? { ok: true, form: read.values } : read;
}

/**
 * Every rule of Sentinel's create panel that needs no directory. All errors are reported at once,
 * each against its field. The owner is checked for form here and resolved by the service.
 */
export function checkForm(form: IncidentForm, rules: FormRules = {}): FormCheck {
  const errors: FieldErrors = {};

  if (!isUuid(form.submissionId)) {
    // Not a person's mistake: the card we rendered always carries one. Reported on the title so it is seen.
    errors.title = "This form is out of date. Open a new one with /incident.";
  }

  const title = form.title.trim();
  if (!title) errors.title ??= "Enter a title.";
  else if (title.length > TITLE_MAX_LENGTH)
    errors.title ??= `Keep the title to ${TITLE_MAX_LENGTH} characters (it has ${title.length}).`;
  else if (CONTROL_ANY.test(title)) errors.title ??= "The title can't contain control characters or line breaks.";

  const description = form.description;
  if (description.length > DESCRIPTION_MAX_LENGTH) {
    errors.description = `Keep the description to ${DESCRIPTION_MAX_LENGTH} characters (it has ${description.length}).`;
  } else if (CONTROL_EXCEPT_WHITESPACE.test(description)) {
    errors.description = "The description can't contain control characters.";
  }

  const severity = form.severity.trim() || "Medium";
  if (!(SEVERITIES as readonly string[]).includes(severity)) {
    errors.severity = `Choose a severity: ${SEVERITIES.join(", ")}.`;
  }

  const status = form.status.trim() || "New";
  if (!(STATUSES as readonly string[]).includes(status)) {
    errors.status = `Choose a status: ${STATUSES.join(", ")}.`;
  }

  let classification: Classification | undefined;
  let classificationReason: ClassificationReason | undefined;
  let classificationComment: string | undefined;
  if (status === "Closed") {
    const choice = closingChoice(form.closing.trim());
    if (!choice) errors.closing = "A closed incident needs a classification.";
    else {
      classification = choice.classification;
      classificationReason = choice.reason;
    }
    const comment = form.closingComment.trim();
    if (!comment) errors.closingComment = "A closed incident needs a closing comment.";
    else if (comment.length > COMMENT_MAX_LENGTH)
      errors.closingComment = `Keep the closing comment to ${COMMENT_MAX_LENGTH} characters (it has ${comment.length}).`;
    else if (CONTROL_EXCEPT_WHITESPACE.test(comment))
      errors.closingComment = "The closing comment can't contain control characters.";
    else classificationComment = comment;
  }

  const ownerRef = form.owner.trim();
  if (ownerRef && ownerRef !== ASSIGN_TO_ME && !isObjectId(ownerRef)) {
    errors.owner = "Choose the owner from the list.";
  }

  const tags = parseTags(form.tags);
  if (tags.error !== undefined) errors.tags = tags.error;

  const more = checkMore(form, rules, errors);

  if (Object.keys(errors).length > 0 || !tags.tags || !more) return { ok: false, errors };
  return {
    ok: true,
    value: {
      id: form.submissionId.toLowerCase(),
      title,
      description,
      severity: severity as Severity,
      status: status as Status,
      classification,
      classificationReason,
      classificationComment,
      ownerRef,
      tags: tags.tags,
      restricted: form.restricted === "true",
      ...more,
    },
  };
}

/** The impacted people and groups chosen: object ids, lower case, each once (checked for form by checkForm). */
export function impactedRefsOf(form: IncidentForm): string[] {
  return [...new Set(listOf(form.impacted).map((id) => id.toLowerCase()))];
}

/** Splits a multi-select's value. */
function listOf(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The fields Defender's manual alert adds: category, techniques, recommended actions, impacted assets, evidence. */
function checkMore(form: IncidentForm, rules: FormRules, errors: FieldErrors) {
  const typedCategory = (form.category ?? "").trim();
  const category = typedCategory ? alertCategory(typedCategory) : undefined;
  if (typedCategory && !category) {
    errors.category = `"${typedCategory.slice(0, 40)}" is not a category. Choose one from the list.`;
  } else if (!category && rules.categoryRequired) {
    errors.category = `Choose a category (${ALERT_CATEGORIES.length} to choose from, as in Microsoft Defender).`;
  }

  const techniques = parseTechniques(form.techniques ?? "");
  if (!techniques.ok) errors.techniques = techniques.error;

  const recommendedActions = form.recommendedActions ?? "";
  if (recommendedActions.length > RECOMMENDED_ACTIONS_MAX_LENGTH) {
    errors.recommendedActions =
      `Keep the recommended actions to ${RECOMMENDED_ACTIONS_MAX_LENGTH} characters ` +
      `(they have ${recommendedActions.length}).`;
  } else if (CONTROL_EXCEPT_WHITESPACE.test(recommendedActions)) {
    errors.recommendedActions = "The recommended actions can't contain control characters.";
  }

  const impactedRefs = impactedRefsOf(form);
  const notIds = impactedRefs.filter((id) => !isObjectId(id));
  if (notIds.length) {
    errors.impacted = `Choose people and groups from the list (${notIds
      .slice(0, 3)
      .map((id) => `"${id.slice(0, 40)}"`)
      .join(", ")} is not one).`;
  } else if (impactedRefs.length > ENTITIES_MAX) {
    errors.impacted = `An incident holds at most ${ENTITIES_MAX} entities; you chose ${impactedRefs.length} people and groups.`;
  }

  const impactedTyped = parseEntityBox(form.impactedTyped ?? "", "impacted");
  if (!impactedTyped.ok) errors.impactedTyped = impactedTyped.error;
  const evidenceTyped = parseEntityBox(form.evidenceTyped ?? "", "related");
  if (!evidenceTyped.ok) errors.evidenceTyped = evidenceTyped.error;

  if (!techniques.ok || !impactedTyped.ok || !evidenceTyped.ok || errors.category || errors.recommendedActions || errors.impacted)
    return undefined;
  return {
    ...(category && { category }),
    mitreTechniques: techniques.ids,
    recommendedActions: recommendedActions.trim(),
    impactedRefs,
    impactedTyped: impactedTyped.entities,
    evidenceKept: listOf(form.evidenceKept),
    evidenceTyped: evidenceTyped.entities,
  };
}
