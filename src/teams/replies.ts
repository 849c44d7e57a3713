import { createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { type Activity, type MessagingExtensionActionResponse, TurnContext } from "botbuilder";
import type { ConnectorClient } from "botframework-connector";
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
    await putActivity(context, { type: "message", id, attachments: [cardAttachment(card)] });
    return true;
  } catch (error) {
    log.warn({ err: error }, "could not update the card message for everyone; the person who clicked still sees the result");
    return false;
  }
}

/**
 * What `context.updateActivity` sends (the activity with the turn's conversation reference applied),
 * PUT through the turn's own connector client with `sendRequest`: the same pipeline, so the same
 * Bot Framework token, retries, user agent and HTTP agent, without `updateActivity`'s operation
 * layer (a mapper walk over the whole activity, URL templating, response deserialising), about a
 * third of the update's CPU. The body is the same JSON but for key order. No `onUpdateActivity`
 * handlers run (the bot registers none); without a connector client (a test adapter) it is
 * `context.updateActivity` itself.
 */
async function putActivity(context: TurnContext, update: Partial<Activity>): Promise<void> {
  const client = context.turnState.get<ConnectorClient | undefined>(context.adapter.ConnectorClientKey);
  if (!client || typeof client.sendRequest !== "function") {
    await context.updateActivity(update);
    return;
  }
  const activity = TurnContext.applyConversationReference({ ...update }, TurnContext.getConversationReference(context.activity));
  // As the connector client builds it (core-client's appendPath): the service URL's path, then the operation's.
  const url = new URL(activity.serviceUrl ?? "");
  const base = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
  url.pathname = `${base}v3/conversations/${encodeURIComponent(activity.conversation?.id ?? "")}/activities/${encodeURIComponent(
    activity.id ?? "",
  )}`;
  const request = createPipelineRequest({
    url: url.toString(),
    method: "PUT",
    // As the client allows it for its own operations: plain http only for an http service URL (local runs).
    allowInsecureConnection: url.protocol === "http:",
    headers: createHttpHeaders({ "Content-Type": "application/json; charset=utf-8" }),
    body: JSON.stringify(activity),
  });
  const response = await client.sendRequest(request);
  // The operation's own answers (200, 201, 202); anything else is what updateActivity throws on.
  if (response.status < 200 || response.status > 202) {
    throw new Error(
      `the Bot Connector answered ${response.status} to the card update: ${(response.bodyAsText ?? "").slice(0, 200)}`,
    );
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
