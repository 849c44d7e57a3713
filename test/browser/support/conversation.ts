import type { TestBot } from "../../support/bot";
import { cardOf } from "../../support/cards";
import { ALEX, execute, message, type Person } from "../../support/teams";
import type { Json, TakenAction } from "./card-page";

/** The card the bot sends when someone (Alex, an analyst, unless said) writes `text` to it. */
export async function botSays(bot: TestBot, text: string, from: Person = ALEX): Promise<Json> {
  bot.connector.reset();
  const res = await bot.post(message(bot.serviceUrl, text, { from }));
  expect(res.status).toBe(200);
  const sent = bot.connector.sent();
  expect(sent).toHaveLength(1);
  return cardOf(sent[0]);
}

/** Teams posts what the renderer produced as an adaptiveCard/action invoke; the answer is the next card. */
export async function send(bot: TestBot, action: TakenAction | undefined, from: Person = ALEX): Promise<Json> {
  if (!action) throw new Error("the click sent nothing");
  expect(action.type).toBe("Action.Execute");
  const res = await bot.post({
    ...execute(bot.serviceUrl, action.verb ?? "", action.data, { from }),
    localTimezone: "Europe/London",
  });
  expect(res.status).toBe(200);
  expect(res.body.type).toBe("application/vnd.microsoft.card.adaptive");
  return res.body.value;
}
