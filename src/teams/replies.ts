import type { MessagingExtensionActionResponse, TurnContext } from "botbuilder";
import type { Logger } from "../log";
import { cardAttachment, type AdaptiveCard } from "./cards";

/** Sends `card` as a new message in the conversation. */
export async function sendCard(context: TurnContext, card: AdaptiveCard): Promise<void> {
  await context.sendActivity({ attachments: [cardAttachment(card)] });
}

/**
 * Replaces the card in the message that holds it, so everyone in the conversation sees the result.
 * False when there is no such message or the update failed (logged).
 */
export async function updateCardMessage(context: TurnContext, card: AdaptiveCard, log: Logger): Promise<boolean> {
  const id = context.activity.replyToId;
  if (!id) return false;
  try {
    await context.updateActivity({ type: "message", id, attachments: [cardAttachment(card)] });
    return true;
  } catch (error) {
    log.warn({ err: error }, "could not update the card message for everyone; the person who clicked still sees the result");
    return false;
  }
}

/** A message-extension dialog showing `card`. */
export function taskCard(title: string, card: AdaptiveCard): MessagingExtensionActionResponse {
  return { task: { type: "continue", value: { title, width: "large", height: "large", card: cardAttachment(card) } } };
}

/** A message-extension dialog that only says `text`. */
export function taskMessage(text: string): MessagingExtensionActionResponse {
  return { task: { type: "message", value: text } };
}

/** `work`, or an error once `ms` have passed, whichever comes first. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
