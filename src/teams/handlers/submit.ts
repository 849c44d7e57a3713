import type { MessageEvidence } from "../../incidents/model";
import type { Role } from "../../incidents/service";
import { readReport } from "../../incidents/report";
import { readForm } from "../../incidents/validation";
import type { SubmitOutcome } from "../form-flow";
import { whenDown } from "../outage";
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
  dialog?: { evidence: MessageEvidence },
): Promise<SubmitOutcome | { problem: string }> {
  const render = dialog ? { dialog } : {};
  const evidence = dialog && { evidence: dialog.evidence };
  let outcome: SubmitOutcome;
  if (verb === VERBS.report) {
    const read = readReport(data);
    if (!read.ok) return { problem: read.problem };
    const limited = overCreateLimit(s, turn);
    if (limited) return { kind: "form", card: s.flow.reportCard(read.report, { ...render, banner: limited }) };
    outcome = await s.flow.submitReport({ report: read.report, actor: turn.actor, timeZone: turn.timeZone, ...evidence }, render);
  } else {
    const read = readForm(data);
    if (!read.ok) return { problem: read.problem };
    const form = read.form;
    const limited = overCreateLimit(s, turn);
    if (limited) return { kind: "form", card: await s.flow.formCard(turn.actor, form, { ...render, banner: limited }) };
    // The directory decides what this person may set; while it is down the form comes back as typed.
    const asked = await whenDown<{ role: Role } | { banner: string }>(
      s.log,
      "role check",
      async () => ({ role: await turn.role() }),
      (banner) => ({ banner }),
    );
    if ("banner" in asked)
      return { kind: "form", card: await s.flow.formCard(turn.actor, form, { ...render, banner: asked.banner }) };
    const role = asked.role;
    const entryPoint = dialog ? "message-extension" : "form";
    outcome = await s.flow.submit({ form, actor: turn.actor, role, entryPoint, ...evidence }, render);
  }
  if (outcome.kind === "created" && outcome.isNew) s.triage.announce(turn.context, outcome.incident);
  return outcome;
}

/** The banner for a create over the person's rate limit (the form comes back as typed); undefined when allowed. */
function overCreateLimit(s: Services, turn: Turn): string | undefined {
  const wait = s.limits.creates.take(turn.rateKey);
  return wait ? createLimitBanner(s.limits.creates.perMinute, wait) : undefined;
}
