import { randomUUID } from "node:crypto";
import { PROVIDER_NAME, type Incident } from "../../src/incidents/model";
import { TAG_MAX_COUNT, TAG_MAX_LENGTH } from "../../src/incidents/tags";
import { checkForm, COMMENT_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, type FieldErrors, type IncidentForm } from "../../src/incidents/validation";
import { cardAttachment, incidentCreatedCard, type AdaptiveCard } from "../../src/teams/cards";
import { incidentFormCard } from "../../src/teams/form-cards";
import { cardResponse } from "../../src/teams/invoke";

/** Teams' documented limit for a bot message (UTF-16, so about 2 bytes per character), with the size it recommends staying under. */
export const TEAMS_MESSAGE_LIMIT = {
  bytesUtf16: 100 * 1024,
  recommendedUtf16: 80 * 1024,
  source: "https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages",
};

export interface CardSize {
  card: string;
  case: string;
  /** The card's JSON, UTF-8 bytes. */
  cardBytes: number;
  /** What goes over the wire: the invoke response body or the message activity, UTF-8 bytes. */
  payloadBytes: number;
  /** The payload as Teams counts it (UTF-16). */
  payloadUtf16Bytes: number;
  /** payloadUtf16Bytes / Teams' limit, in %. */
  ofTeamsLimitPct: number;
}

/** Text of exactly `n` characters, words and punctuation, with characters JSON must escape (quotes, line breaks). */
function text(n: number, seed = "Suspicious \"sign-in\" from an unfamiliar location; user says it was not them.\n"): string {
  return seed.repeat(Math.ceil(n / seed.length)).slice(0, n);
}

/** A title may not hold line breaks. */
const TITLE = "Suspicious \"sign-in\" from an unfamiliar location & <unknown> device; ";

function tags(count = TAG_MAX_COUNT, length = TAG_MAX_LENGTH): string[] {
  return Array.from({ length: count }, (_, i) => `${String(i).padStart(2, "0")} ${text(length - 3, "lateral movement via remote services ")}`.trimEnd().padEnd(length, "x"));
}

function size(card: string, kase: string, content: AdaptiveCard, payload: unknown): CardSize {
  const json = JSON.stringify(payload);
  const utf16 = json.length * 2;
  return {
    card,
    case: kase,
    cardBytes: Buffer.byteLength(JSON.stringify(content)),
    payloadBytes: Buffer.byteLength(json),
    payloadUtf16Bytes: utf16,
    ofTeamsLimitPct: Math.round((utf16 / TEAMS_MESSAGE_LIMIT.bytesUtf16) * 1000) / 10,
  };
}

/** Every field's error, as the validators word them (from a form that breaks every rule). */
function allErrors(): Required<FieldErrors> {
  const broken = checkForm({
    submissionId: "not-a-uuid",
    title: text(TITLE_MAX_LENGTH + 1),
    description: text(DESCRIPTION_MAX_LENGTH + 1),
    severity: "Catastrophic",
    status: "Closed",
    closing: "",
    closingComment: "",
    owner: "Bob from accounts",
    tags: tags(TAG_MAX_COUNT + 1).join(","),
  });
  const errors = broken.ok ? {} : broken.errors;
  // Status is valid ("Closed") so that closing and comment errors appear; its message is the longest one it has.
  return {
    title: errors.title ?? "",
    description: errors.description ?? "",
    severity: errors.severity ?? "",
    status: "Choose a status: New, Active, Closed.",
    closing: errors.closing ?? "",
    closingComment: errors.closingComment ?? "",
    owner: errors.owner ?? "",
    tags: errors.tags ?? "",
    category: errors.category ?? "",
    techniques: errors.techniques ?? "",
    recommendedActions: errors.recommendedActions ?? "",
    impacted: errors.impacted ?? "",
    impactedTyped: errors.impactedTyped ?? "",
    evidenceTyped: errors.evidenceTyped ?? "",
  };
}

function worstForm(closingComment: string): IncidentForm {
  return {
    submissionId: randomUUID(),
    title: text(TITLE_MAX_LENGTH, TITLE),
    description: text(DESCRIPTION_MAX_LENGTH),
    severity: "Informational",
    status: "Closed",
    closing: "BenignPositive.SuspiciousButExpected",
    closingComment,
    owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01",
    tags: tags().join(","),
  };
}

function worstIncident(closingComment: string): Incident {
  const at = "2026-11-26T21:40:00.000Z";
  return {
    id: randomUUID(),
    workspaceId: "bench",
    incidentNumber: 9_999_999,
    revision: 1,
    title: text(TITLE_MAX_LENGTH, TITLE),
    description: text(DESCRIPTION_MAX_LENGTH),
    severity: "Informational",
    status: "Closed",
    classification: "BenignPositive",
    classificationReason: "SuspiciousButExpected",
    ...(closingComment && { classificationComment: closingComment }),
    owner: { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "Group", assignedTo: text(256, "SOC Incident Response and Threat Hunting "), email: "soc-ir@contoso.com" },
    labels: tags().map((labelName) => ({ labelName, labelType: "User" as const })),
    createdTimeUtc: at,
    lastModifiedTimeUtc: at,
    createdBy: { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: text(256, "Alexandra Wilberforce-Montgomery "), teamsId: "29:1a2b3c-user-mri" },
    entryPoint: "form",
    providerName: PROVIDER_NAME,
  };
}

/**
 * The largest form and confirmation cards, built with the real card functions: 256-character title,
 * 5000-character description, 20 tags of 50 characters, every error shown, and (second case) the
 * longest closing comment the form accepts (30,000 characters).
 */
export function benchCards(): CardSize[] {
  const out: CardSize[] = [];
  const errors = allErrors();
  const topTags = tags(10, 30).map((t) => ({ title: t, value: t }));
  for (const [kase, comment] of [
    ["title 256, description 5000, 20 tags x 50, every error", ""],
    [`the same, closing comment ${COMMENT_MAX_LENGTH}`, text(COMMENT_MAX_LENGTH)],
  ] as const) {
    const form = worstForm(comment);
    const card = incidentFormCard({
      form,
      errors,
      banner: "The incident store is not answering, so nothing was saved. Everything you typed is still here: try Create incident again in a moment.",
      ownerChoices: [
        { title: `Assign to me (${text(256, "Alexandra Wilberforce-Montgomery ")})`, value: "me" },
        { title: `${text(256, "SOC Incident Response and Threat Hunting ")} · group`, value: form.owner },
      ],
      tagChoices: [...form.tags.split(",").map((t) => ({ title: t, value: t })), ...topTags],
    });
    // The form comes back as the answer to the Action.Execute that failed.
    out.push(size("form (invoke response)", kase, card, cardResponse(card).body));
  }
  for (const [kase, comment] of [
    ["title 256, description 5000 (400 shown), 20 tags x 50, closed", ""],
    [`the same, closing comment ${COMMENT_MAX_LENGTH}`, text(COMMENT_MAX_LENGTH)],
  ] as const) {
    const card = incidentCreatedCard(worstIncident(comment));
    out.push(size("confirmation (invoke response)", kase, card, cardResponse(card).body));
    // Everyone else gets it through the updated message.
    out.push(size("confirmation (message update)", kase, card, { type: "message", id: "card-message-1", attachments: [cardAttachment(card)] }));
  }
  return out;
}
