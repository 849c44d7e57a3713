import { randomUUID } from "node:crypto";
import { ALERT_CATEGORIES } from "../incidents/attack";
import {
  ENTITY_BOX_MAX_LENGTH,
  evidenceId,
  evidenceOf,
  impactedBox,
  impactedDirectoryIds,
  NO_DEFENDER_FIELDS,
} from "../incidents/form-entities";
import type { Incident } from "../incidents/model";
import { closingChoiceOf, incidentRef } from "../incidents/model";
import type { DirectoryEntry } from "../incidents/ports";
import type { ReportErrors, ReportForm } from "../incidents/report";
import {
  COMMENT_MAX_LENGTH,
  DESCRIPTION_MAX_LENGTH,
  RECOMMENDED_ACTIONS_MAX_LENGTH,
  TITLE_MAX_LENGTH,
  type FieldErrors,
  type IncidentForm,
} from "../incidents/validation";
import type { AttachField } from "./attach-flow";
import { expand, type AdaptiveCard } from "./cards";
import { VERBS } from "./verbs";

/** The forms: the analyst's incident form (create and edit), the employee's report, and their values. */
/** "Megan Bowen · meganb@contoso.com" or "SOC Tier 1 · group": a person can tell a group from a user. */
export function ownerLabel(entry: DirectoryEntry): string {
  if (entry.kind === "Group") return `${entry.displayName} · group`;
  const address = entry.email ?? entry.userPrincipalName;
  return address ? `${entry.displayName} · ${address}` : entry.displayName;
}

/** A new, empty form with a fresh submission id. */
export function emptyForm(): IncidentForm {
  return {
    submissionId: randomUUID(),
    title: "",
    description: "",
    severity: "Medium",
    status: "New",
    closing: "",
    closingComment: "",
    owner: "",
    tags: "",
    ...NO_DEFENDER_FIELDS,
  };
}

/** A new employee report with a fresh submission id, prefilled with `prefill`. */
export function emptyReport(prefill: Partial<ReportForm> = {}): ReportForm {
  return {
    submissionId: randomUUID(),
    title: "",
    whatHappened: "",
    whenDate: "",
    whenTime: "",
    where: "",
    urgent: "false",
    ...prefill,
  };
}

/** The form's values for an existing incident, so Edit opens with what is stored. */
export function formOf(incident: Incident): IncidentForm {
  return {
    submissionId: incident.id,
    title: incident.title,
    description: incident.description,
    severity: incident.severity,
    status: incident.status,
    closing: closingChoiceOf(incident)?.value ?? "",
    closingComment: incident.classificationComment ?? "",
    owner: incident.owner?.objectId ?? "",
    tags: incident.labels.map((l) => l.labelName).join(","),
    restricted: incident.restricted ? "true" : "false",
    category: incident.category ?? "",
    techniques: (incident.mitreTechniques ?? []).join(","),
    recommendedActions: incident.recommendedActions ?? "",
    impacted: impactedDirectoryIds(incident.entities).join(","),
    impactedTyped: impactedBox(incident.entities),
    evidenceKept: evidenceOf(incident.entities).map(evidenceId).join(","),
    evidenceTyped: "",
  };
}

/** The attach field's value for "create a new incident" (src/teams/attach-flow.ts): its first choice, chosen by default. */
export const NEW_INCIDENT = "new";
const NO_ATTACH: Choice = { title: "None: create a new incident", value: NEW_INCIDENT };

export interface Choice {
  title: string;
  value: string;
}

export interface FormView {
  form: IncidentForm;
  errors?: FieldErrors;
  /** A problem that belongs to no field (the store did not answer...). */
  banner?: string;
  ownerChoices: Choice[];
  tagChoices: Choice[];
  /** Absent: the chosen ones only (src/teams/form-choices.ts makes them all). */
  techniqueChoices?: Choice[];
  impactedChoices?: Choice[];
  /** On an edit: the incident's related evidence, each to untick. */
  evidenceChoices?: Choice[];
  /** The category must be chosen (the service's rule). */
  categoryRequired?: boolean;
  /** card: Action.Execute in a chat (default); dialog: Action.Submit in a message-extension dialog. */
  mode?: "card" | "dialog";
  /** Editing an existing incident rather than creating one. */
  edit?: { incident: Incident; revision: number };
  /** The attach field (src/teams/attach-flow.ts) as it comes back: chosen incident, error. */
  attach?: AttachField;
  /** Hidden data carried by the dialog's submit (the message's evidence). */
  evidenceData?: unknown;
  /** The server's tokens for the submission id and the evidence (src/teams/submission-tokens.ts). */
  submissionToken?: string;
  evidenceToken?: string;
}

const NO_ERRORS: Required<FieldErrors> = {
  title: "",
  description: "",
  severity: "",
  status: "",
  closing: "",
  closingComment: "",
  owner: "",
  tags: "",
  category: "",
  techniques: "",
  recommendedActions: "",
  impacted: "",
  impactedTyped: "",
  evidenceTyped: "",
};

const CATEGORY_CHOICES: Choice[] = ALERT_CATEGORIES.map((c) => ({ title: c.label, value: c.value }));

/** The incident form, with the values, choices and errors given (every value kept as typed). */
export function incidentFormCard(view: FormView): AdaptiveCard {
  const edit = view.edit;
  return withoutEmptyActionData(
    expand("incident-form", {
      heading: edit ? `Edit ${incidentRef(edit.incident)}` : "Create incident",
      subheading: edit
        ? "Change what needs changing and save. If someone else saves first, you will be told."
        : "For the SOC's incident queue, as in Microsoft Sentinel. Title is required.",
      mode: view.mode ?? "card",
      verb: edit ? VERBS.update : VERBS.create,
      actionTitle: edit ? "Save changes" : "Create incident",
      cancelVerb: edit ? VERBS.view : "",
      incidentId: edit?.incident.id ?? "",
      revision: edit?.revision ?? "",
      evidenceData: view.evidenceData ?? "",
      submissionToken: view.submissionToken ?? "",
      evidenceToken: view.evidenceToken ?? "",
      form: echoed(view.form),
      submissionId: view.form.submissionId,
      errors: { ...NO_ERRORS, ...view.errors },
      banner: view.banner ?? "",
      ownerChoices: view.ownerChoices,
      tagChoices: view.tagChoices,
      categoryChoices: CATEGORY_CHOICES,
      categoryLabel: view.categoryRequired ? "Category (required)" : "Category",
      techniqueChoices: view.techniqueChoices ?? [],
      impactedChoices: view.impactedChoices ?? [],
      evidenceChoices: view.evidenceChoices ?? [],
      limits: {
        title: TITLE_MAX_LENGTH,
        description: DESCRIPTION_MAX_LENGTH,
        comment: COMMENT_MAX_LENGTH,
        actions: RECOMMENDED_ACTIONS_MAX_LENGTH,
        box: ENTITY_BOX_MAX_LENGTH,
      },
      // Attach to an existing incident: a new incident's form only (an edit is the incident itself).
      attach: {
        shown: !edit,
        value: NEW_INCIDENT,
        error: "",
        ...view.attach,
        choices: [NO_ATTACH, ...(view.attach?.choices ?? [])],
      },
    }),
  );
}

/**
 * What was typed, shown again. Text far beyond a field's limit (which only a crafted request can
 * send) is cut, so the card stays within Teams' size limits; the error still gives the real length.
 */
function echoed(form: IncidentForm): IncidentForm {
  const cut = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);
  return {
    ...form,
    title: cut(form.title, TITLE_MAX_LENGTH + 100),
    description: cut(form.description, DESCRIPTION_MAX_LENGTH + 100),
    closingComment: cut(form.closingComment, COMMENT_MAX_LENGTH + 100),
    tags: cut(form.tags, 2000),
    owner: cut(form.owner, 100),
    severity: cut(form.severity, 50) || "Medium",
    status: cut(form.status, 50) || "New",
    closing: cut(form.closing, 100),
    restricted: form.restricted === "true" ? "true" : "false",
    category: cut(form.category ?? "", 50),
    techniques: cut(form.techniques ?? "", 1000),
    recommendedActions: cut(form.recommendedActions ?? "", RECOMMENDED_ACTIONS_MAX_LENGTH + 100),
    impacted: cut(form.impacted ?? "", 4000),
    impactedTyped: cut(form.impactedTyped ?? "", ENTITY_BOX_MAX_LENGTH + 100),
    evidenceKept: cut(form.evidenceKept ?? "", 1400),
    evidenceTyped: cut(form.evidenceTyped ?? "", ENTITY_BOX_MAX_LENGTH + 100),
  };
}

/** One template serves create and edit; hidden values that don't apply (empty) are left out of the actions. */
function withoutEmptyActionData(card: AdaptiveCard): AdaptiveCard {
  const clean = (action: { data?: Record<string, unknown>; fallback?: unknown } | undefined) => {
    if (!action) return;
    if (action.data) for (const [k, v] of Object.entries(action.data)) if (v === "") delete action.data[k];
    if (typeof action.fallback === "object") clean(action.fallback as { data?: Record<string, unknown> });
  };
  for (const action of (card.actions as { data?: Record<string, unknown> }[] | undefined) ?? []) clean(action);
  return card;
}

export interface ReportView {
  form: ReportForm;
  errors?: ReportErrors;
  banner?: string;
  mode?: "card" | "dialog";
  evidenceData?: unknown;
  submissionToken?: string;
  evidenceToken?: string;
}

const NO_REPORT_ERRORS: Required<ReportErrors> = { title: "", whatHappened: "", when: "", where: "" };

/** The employee's short "Report suspicious activity" form. */
export function reportFormCard(view: ReportView): AdaptiveCard {
  return expand("report-form", {
    form: {
      ...view.form,
      urgent: view.form.urgent === "true" ? "true" : "false",
      restricted: view.form.restricted === "true" ? "true" : "false",
    },
    submissionId: view.form.submissionId,
    errors: { ...NO_REPORT_ERRORS, ...view.errors },
    banner: view.banner ?? "",
    mode: view.mode ?? "card",
    evidenceData: view.evidenceData ?? "",
    submissionToken: view.submissionToken ?? "",
    evidenceToken: view.evidenceToken ?? "",
  });
}
