import { randomUUID } from "node:crypto";
import type { MessageEvidence } from "../../incidents/model";
import type { CreateOptions, Role } from "../../incidents/service";
import { readReport } from "../../incidents/report";
import { isUuid, readForm } from "../../incidents/validation";
import { attachTarget, submitAttach } from "../attach-flow";
import type { SubmitOutcome } from "../form-flow";
import { messageIncidentId } from "../message-source";
import { whenDown } from "../outage";
import { chatAddressOf, conversationOf } from "../reporter-notifier";
import { createLimitBanner } from "../rate-limit";
import type { Services, Turn } from "../turn";
import { VERBS } from "../verbs";

/** Which form was sent: the analyst's full form or the employee's report. */
export type FormVerb = typeof VERBS.create | typeof VERBS.report;

/**
 * Creating an incident, from any entry point (a chat card, an old client's Action.Submit, a
 * message-extension dialog): read the form, apply the person's rate limit and role, store it once,
 * announce it to the triage channel after the answer. `dialog` is set when it came from a message.
 */
export async function submitForm(
  s: Services,
  turn: Turn,
  verb: FormVerb,
  data: Record<string, unknown>,
  dialog?: { evidence: MessageEvidence } & Pick<CreateOptions, "message">,
): Promise<SubmitOutcome | { problem: string }> {
  const render = dialog ? { dialog } : {};
  const replyTo = turn.activity.replyToId;
  // A dialog has no card message of its own; a chat card's message is recorded with a new incident.
  const evidence = dialog
    ? { evidence: dialog.evidence, ...(dialog.message && { message: dialog.message }) }
    : replyTo
      ? { messageId: replyTo }
      : {};
  // Kept with the report, so the reporter can be told what happens to it.
  const address = chatAddressOf(turn.activity);
  const reach = address ? { contact: address } : {};
  const who = turn.who;
  let outcome: SubmitOutcome;
  if (verb === VERBS.report) {
    const read = readReport(data);
    if (!read.ok) return { problem: read.problem };
    const report = read.report;
    const stopped = overCreateLimit(s, turn) ?? (await notIssuedTo(s, turn, report.submissionId, data, dialog));
    if (stopped) {
      const again = { ...report, submissionId: stopped.newId ?? report.submissionId };
      return { kind: "form", card: s.flow.reportCard(who, again, { ...render, banner: stopped.banner }) };
    }
    outcome = await s.flow.submitReport({ report, who, timeZone: turn.timeZone, ...evidence, ...reach }, render);
  } else {
    const read = readForm(data);
    if (!read.ok) return { problem: read.problem };
    const form = read.form;
    const target = attachTarget(data);
    if ("problem" in target) return { problem: target.problem };
    const stopped = overCreateLimit(s, turn) ?? (await notIssuedTo(s, turn, form.submissionId, data, dialog));
    if (stopped) {
      const again = { ...form, submissionId: stopped.newId ?? form.submissionId };
      return { kind: "form", card: await s.flow.formCard(who, again, { ...render, banner: stopped.banner }) };
    }
    // The directory decides what this person may set; while it is down the form comes back as typed.
    const asked = await whenDown<{ role: Role } | { banner: string }>(
      s.log,
      "role check",
      async () => ({ role: await turn.role() }),
      (banner) => ({ banner }),
    );
    if ("banner" in asked) return { kind: "form", card: await s.flow.formCard(who, form, { ...render, banner: asked.banner }) };
    const entryPoint = dialog ? "message-extension" : "form";
    // Added to an existing incident instead (src/teams/attach-flow.ts): told and redrawn there.
    if (target.id) {
      const fromMessage = dialog && {
        evidence: dialog.evidence,
        ...(dialog.message && { message: dialog.message }),
        messageIncidentId: messageIncidentId(
          s.service.workspaceId,
          turn.activity.conversation?.id ?? "",
          dialog.evidence.messageId,
        ),
      };
      const attach = { form, attachTo: target.id, entryPoint, ...fromMessage, ...reach } as const;
      return submitAttach(s, turn, attach, render);
    }
    const at = replyTo && !dialog ? { formConversation: conversationOf(turn.activity) } : {};
    outcome = await s.flow.submit({ form, who, role: asked.role, entryPoint, ...evidence, ...at, ...reach }, render);
  }
  if (outcome.kind === "created" && outcome.isNew) s.triage.announce(turn.context, outcome.incident);
  // A later report of the same message: the analysts' triage post shows it (drawn from the state after it).
  if (outcome.kind === "added") s.triage.refresh(turn.context, outcome.incident);
  return outcome;
}

const NOT_ISSUED =
  "This form was opened by someone else or in another conversation, so it was not sent. Everything you typed is " +
  "still here, on a form of your own: send it again.";

/**
 * A form whose id was not issued to this person in this conversation (someone else's form, a replay,
 * a guessed id) never reaches an incident: it comes back as typed, with an id of their own (for a
 * message, the message's own id).
 */
async function notIssuedTo(
  s: Services,
  turn: Turn,
  id: string,
  data: Record<string, unknown>,
  dialog: { evidence: MessageEvidence } | undefined,
): Promise<{ banner: string; newId: string } | undefined> {
  // An id that is not even well-formed is the form's own error ("out of date"), told by validation.
  if (!isUuid(id) || (await s.tokens.verifySubmission(id, data.submissionToken, turn.who))) return undefined;
  s.log.warn({ activityId: turn.activity.id }, "a form was sent with a submission id not issued to this person here");
  const conversation = turn.activity.conversation?.id ?? "";
  const newId = dialog ? messageIncidentId(s.service.workspaceId, conversation, dialog.evidence.messageId) : randomUUID();
  return { banner: NOT_ISSUED, newId };
}

/** The banner for a create over the person's rate limit (the form comes back as typed); undefined when allowed. */
function overCreateLimit(s: Services, turn: Turn): { banner: string; newId?: undefined } | undefined {
  const wait = s.limits.creates.take(turn.rateKey);
  return wait ? { banner: createLimitBanner(s.limits.creates.perMinute, wait) } : undefined;
}
