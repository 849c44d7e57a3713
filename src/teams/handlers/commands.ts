import { suggestTitle } from "../../incidents/report";
import { DESCRIPTION_MAX_LENGTH } from "../../incidents/validation";
import { helpCard } from "../cards";
import { emptyReport } from "../form-cards";
import { answerPrivately } from "../private-chat";
import { actionLimitMessage } from "../rate-limit";
import { sendCard } from "../replies";
import type { Services, Turn } from "../turn";
import { TEXT_COMMANDS } from "../verbs";
import { myIncidents, myReports } from "./casework";
import { registerTriage } from "./triage";

type Command = keyof typeof TEXT_COMMANDS;

/** The command a text names, if any: case, extra spaces and a leading slash don't matter. */
function commandOf(text: string): { command: Command | undefined; typed: string } {
  const typed = text.trim().replace(/^\//, "").replace(/\s+/g, " ").toLowerCase();
  const command = (Object.keys(TEXT_COMMANDS) as Command[]).find((c) => (TEXT_COMMANDS[c] as readonly string[]).includes(typed));
  return { command, typed };
}

/**
 * A text message. `incident`: the form for the person's role; `triage here`: the SOC's triage
 * channel; anything else in a 1:1 chat: an employee telling the bot what they saw, answered with
 * the short report prefilled from their words; otherwise help.
 */
export async function onText(s: Services, turn: Turn): Promise<void> {
  // Every text counts against the person's limit for actions: "my reports" in a loop is a store query each.
  const wait = s.limits.actions.take(turn.rateKey);
  if (wait) {
    await turn.context.sendActivity(actionLimitMessage(wait));
    return;
  }
  const text = turn.text;
  const { command, typed } = commandOf(text);
  switch (command) {
    case "form":
      return sendCard(turn.context, await s.flow.formFor(await turn.role(), turn.who));
    case "triage":
      await turn.context.sendActivity(await registerTriage(s, turn));
      return;
    case "help":
      return sendCard(turn.context, helpCard());
    // Lists are the person's own: never posted where others read.
    case "myReports":
      return answerPrivately(s, turn, await myReports(s, turn), "your reports");
    case "myIncidents":
      return answerPrivately(s, turn, await myIncidents(s, turn), "your incidents");
    case undefined:
      break;
  }
  if (turn.activity.conversation?.conversationType === "personal" && typed) {
    const words = text.trim().slice(0, DESCRIPTION_MAX_LENGTH);
    return sendCard(turn.context, s.flow.reportCard(turn.who, emptyReport({ title: suggestTitle(words), whatHappened: words })));
  }
  return sendCard(turn.context, helpCard(typed ? "Say incident to open the form, or use the button below." : ""));
}
