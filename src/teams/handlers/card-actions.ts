import type { InvokeResponse } from "botbuilder";
import type { Incident } from "../../incidents/model";
import type { AdaptiveCard } from "../cards";
import { cardResponse, describeProblem, errorResponse, executeValue } from "../invoke";
import { actionLimitMessage } from "../rate-limit";
import { sendCard, updateCardMessage } from "../replies";
import { answerPrivately } from "../private-chat";
import { reportSentCard } from "../shared-view";
import type { Services, Turn } from "../turn";
import { VERBS, type Verb } from "../verbs";
import { submitForm, type FormVerb } from "./submit";
import { addTask, answer, ask, comment, completeTask, myReports } from "./casework";
import { assign, edit, update, view } from "./triage";

/**
 * A button's answer: the card the clicker sees next (`changed`: the incident changed or was
 * created, so everyone's copy of the clicked card is updated too), or why the click can't be read.
 */
export type CardAnswer =
  | {
      card: AdaptiveCard;
      changed?: boolean;
      /** A new card, not the next state of the clicked one (Action.Submit sends it as a new message). */
      opensNew?: boolean;
      /** What everyone else sees in the clicked card's message, when not `card` (a restricted incident). */
      forEveryone?: AdaptiveCard;
      /** The clicked message is the incident's own (Turn.isOwnMessage): only then is it updated for everyone. */
      ownMessage?: boolean;
      /** The incident after the change (with `changed`), from which what everyone sees is decided. */
      incident?: Incident;
      /**
       * For the person only ("your reports"): where there is no private answer (an older client's
       * Action.Submit in a channel or a group chat) it goes to their 1:1 chat, never to the conversation.
       */
      private?: string;
    }
  | { problem: string };

type CardHandler = (s: Services, turn: Turn, data: Record<string, unknown>) => Promise<CardAnswer>;

/** A form was sent from a card: create the incident, or the form back with what to fix. */
function submitted(verb: FormVerb): CardHandler {
  return async (s, turn, data) => {
    const outcome = await submitForm(s, turn, verb, data);
    if ("problem" in outcome) return outcome;
    // An employee's report is private wherever it is made: the others in a chat see a neutral line,
    // and what comes back to her (the receipt, or her form to finish) is hers alone.
    // So is an analyst's report attached to an existing incident (src/teams/attach-flow.ts).
    const attached = outcome.kind === "added" || outcome.kind === "counted";
    const mine = (verb === VERBS.report || attached) && turn.shared;
    const privately = mine ? { private: outcome.kind === "form" ? "your report to finish" : "your receipt" } : {};
    if (outcome.kind === "created") {
      const own = turn.isOwnMessage(outcome.incident);
      const forEveryone = mine ? reportSentCard() : outcome.forEveryone;
      return { card: outcome.card, changed: true, forEveryone, ownMessage: own, ...privately };
    }
    return { card: outcome.card, ...privately };
  };
}

/**
 * Every card verb and what answers it: the one table for Action.Execute and for the Action.Submit
 * fallback of older clients. `reads` says what a click that can't be read was, in the fallback's words.
 */
export const CARD_ACTIONS: Record<Verb, { handle: CardHandler; reads: "form" | "card action" }> = {
  [VERBS.form]: {
    reads: "card action",
    handle: async (s, turn) => ({ card: await s.flow.formFor(await turn.role(), turn.who), opensNew: true }),
  },
  [VERBS.create]: { reads: "form", handle: submitted(VERBS.create) },
  [VERBS.report]: { reads: "form", handle: submitted(VERBS.report) },
  [VERBS.view]: { reads: "card action", handle: view },
  [VERBS.edit]: { reads: "card action", handle: edit },
  [VERBS.assign]: { reads: "card action", handle: assign },
  [VERBS.update]: { reads: "card action", handle: update },
  [VERBS.comment]: { reads: "card action", handle: comment },
  [VERBS.ask]: { reads: "card action", handle: ask },
  [VERBS.task]: { reads: "card action", handle: addTask },
  [VERBS.taskDone]: { reads: "card action", handle: completeTask },
  [VERBS.answer]: { reads: "card action", handle: answer },
  [VERBS.myReports]: {
    reads: "card action",
    handle: async (s, turn) => ({ card: await myReports(s, turn), opensNew: true, private: "your reports" }),
  },
};

function routeOf(verb: string): (typeof CARD_ACTIONS)[Verb] | undefined {
  return Object.hasOwn(CARD_ACTIONS, verb) ? CARD_ACTIONS[verb as Verb] : undefined;
}

/** `adaptiveCard/action` (Action.Execute): the clicker gets the answer; everyone else the updated message. */
export async function onCardAction(s: Services, turn: Turn): Promise<InvokeResponse> {
  const parsed = executeValue.safeParse(turn.activity.value);
  if (!parsed.success)
    return errorResponse(400, "BadRequest", `This card action can't be read: ${describeProblem(parsed.error)}.`);
  const { verb, data = {} } = parsed.data.action;
  const route = routeOf(verb);
  if (!route) {
    const known = Object.values(VERBS).join(", ");
    return errorResponse(400, "BadRequest", `Unknown action "${verb.slice(0, 60)}". This bot knows ${known}.`);
  }
  const wait = s.limits.actions.take(turn.rateKey);
  if (wait) return errorResponse(429, "TooManyRequests", actionLimitMessage(wait));
  const answer = await route.handle(s, turn, data);
  if ("problem" in answer) return errorResponse(400, "BadRequest", answer.problem);
  const forEveryone = answer.forEveryone ?? answer.card;
  if (answer.changed && answer.ownMessage) {
    s.later.start("card update for everyone", () => updateCardMessage(turn.context, forEveryone, s.log));
  }
  return cardResponse(answer.card);
}

/**
 * Action.Submit from an older client: a message whose value holds the verb and the inputs. There is
 * no private answer: the incident's own message is updated, an answer for the person only goes to
 * their 1:1 chat, and anything else comes as a new message.
 */
export async function onSubmitFallback(s: Services, turn: Turn, value: Record<string, unknown>): Promise<void> {
  const route = routeOf(typeof value.verb === "string" ? value.verb : "");
  if (!route) {
    await turn.context.sendActivity("That button is not one this bot knows. Say incident to open a new form.");
    return;
  }
  const wait = s.limits.actions.take(turn.rateKey);
  if (wait) {
    await turn.context.sendActivity(actionLimitMessage(wait));
    return;
  }
  const answer = await route.handle(s, turn, value);
  if ("problem" in answer) {
    const text =
      route.reads === "form"
        ? `That form could not be read: ${answer.problem} Say incident to open a new form.`
        : `That card action could not be read: ${answer.problem}`;
    await turn.context.sendActivity(text);
    return;
  }
  // The message is shared: a restricted incident shows there as its line only. Only the incident's
  // own message is updated; anything else (a form sent back, another message) comes as a new one.
  const shared = answer.forEveryone ?? answer.card;
  if (answer.private && turn.shared) {
    if (answer.ownMessage && answer.forEveryone) await updateCardMessage(turn.context, answer.forEveryone, s.log);
    return answerPrivately(s, turn, answer.card, answer.private);
  }
  const updated = !answer.opensNew && answer.ownMessage === true && (await updateCardMessage(turn.context, shared, s.log));
  if (!updated) await sendCard(turn.context, shared);
}
