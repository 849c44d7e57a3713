import type { Activity, ConversationParameters } from "botbuilder";
import { cardAttachment, type AdaptiveCard } from "./cards";
import { chatAddressOf, senderOf, type ChatAddress, type Sender } from "./reporter-notifier";
import { sendCard } from "./replies";
import { isTrustedServiceUrl } from "./service-urls";
import type { Services, Turn } from "./turn";

/**
 * Opens (or finds: Teams answers with the existing one) the person's 1:1 chat with the bot and sends
 * `activity` there. The one way the bot reaches a person privately outside the conversation it is in.
 */
export async function sendInPersonalChat(
  { adapter }: Sender,
  botAppId: string,
  to: ChatAddress,
  activity: Partial<Activity>,
): Promise<void> {
  const parameters = {
    isGroup: false,
    bot: { ...to.bot, name: to.bot.name ?? "" },
    members: [{ ...to.user, name: to.user.name ?? "" }],
    ...(to.tenantId && { tenantId: to.tenantId, channelData: { tenant: { id: to.tenantId } } }),
  } as ConversationParameters;
  await adapter.createConversationAsync(botAppId, to.channelId, to.serviceUrl, "", parameters, async (ctx) => {
    await ctx.sendActivity(activity);
  });
}

/**
 * An answer meant for the person only (their reports, their incidents, their receipt): in their 1:1
 * chat it is the reply; in a channel or a group chat it goes to their 1:1 chat with the bot, and the
 * shared conversation is told only where it went.
 */
export async function answerPrivately(s: Services, turn: Turn, card: AdaptiveCard, what: string): Promise<void> {
  if (!turn.shared) return sendCard(turn.context, card);
  const to = chatAddressOf(turn.activity);
  try {
    if (!to || !isTrustedServiceUrl(to.serviceUrl, s.trustedServiceUrls)) throw new Error("Teams did not say who sent this");
    await sendInPersonalChat(senderOf(turn.context), s.botAppId, to, { attachments: [cardAttachment(card)] });
  } catch (error) {
    s.log.warn({ err: error }, "could not open a 1:1 chat to answer privately");
    await turn.context.sendActivity(
      `I could not open a private chat with you, so I did not post ${what} here: open your chat with me and ask there.`,
    );
    return;
  }
  await turn.context.sendActivity(`I sent ${what} to you in our 1:1 chat.`);
}
