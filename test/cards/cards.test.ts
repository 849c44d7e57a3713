/**
 * Every card the bot can send, made by the running bot from every template in cards/, typical and
 * worst case: valid in the official Adaptive Cards renderer, only what Teams renders in 1.5, and
 * under the 40 KB size budget. Plain Node: no browser (the browser tests are in test/browser).
 */
import fs from "node:fs";
import path from "node:path";
import { CARDS_DIR } from "../../src/teams/cards";
import { CATALOGUE, type CardSample } from "./catalogue";
import { startSampleWorld, type SampleWorld } from "./sample-world";
import { cardOf, values } from "../support/cards";
import { execute } from "../support/teams";
import { CARD_BUDGET_BYTES, cardMarks, rendererProblems, teamsProblems, templateMarks, templateTypes, utf16Bytes, type Json } from "./teams-rules";

/** Room kept for the activity around the card: ids, conversation, from, recipient, serviceUrl (measured below). */
const ENVELOPE_BYTES = 2048;

const templates = fs
  .readdirSync(CARDS_DIR)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length))
  .sort();

describe("the card catalogue", () => {
  it("has an entry for every template in cards/, and a template for every entry", () => {
    expect(CATALOGUE.map((e) => e.template).sort()).toEqual(templates);
  });

  it.each(CATALOGUE.map((e) => [e.template, e] as const))("%s has a typical sample and a worst case", (_name, entry) => {
    expect(entry.samples.length).toBeGreaterThanOrEqual(2);
    expect(entry.samples.some((s) => /worst case/.test(s.name))).toBe(true);
    expect(new Set(entry.samples.map((s) => s.name)).size).toBe(entry.samples.length);
  });

  it.each(templates)("cards/%s.json mentions only types Teams renders, also in branches no sample shows", (name) => {
    const template: unknown = JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${name}.json`), "utf8"));
    const types = templateTypes(template);
    expect(types.length).toBeGreaterThan(0);
    expect(types.filter((t) => !t.allowed)).toEqual([]);
  });
});

/** Each sample is made once, in a bot of its own (so one sample's incidents and tags don't leak into another). */
const made = new Map<CardSample, Json>();

async function make(sample: CardSample): Promise<Json> {
  const known = made.get(sample);
  if (known) return known;
  let world: SampleWorld | undefined;
  try {
    world = await startSampleWorld();
    const card = await sample.make(world);
    made.set(sample, card);
    return card;
  } finally {
    await world?.stop();
  }
}

const samples = CATALOGUE.flatMap((entry) => entry.samples.map((sample) => [entry.template, sample.name, sample] as const));

describe.each(samples)("%s: %s", (template, _name, sample) => {
  let card: Json;
  beforeAll(async () => {
    card = await make(sample);
  });

  it(`is made from cards/${template}.json`, () => {
    const marks = templateMarks(JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${template}.json`), "utf8")));
    expect(marks.length).toBeGreaterThan(0);
    const onCard = cardMarks(card);
    expect(marks.filter((m) => !onCard.has(m))).toEqual([]);
  });

  it("parses in the official Adaptive Cards renderer with no validation event", () => {
    expect(rendererProblems(card)).toEqual([]);
  });

  it("declares version 1.5 and uses only what Teams renders", () => {
    expect(card.version).toBe("1.5");
    expect(teamsProblems(card)).toEqual([]);
  });

  if (sample.budget) {
    it(`stays under its own ${sample.budget.bytes / 1024} KB budget (${sample.budget.why}), counted in UTF-16`, () => {
      expect(utf16Bytes(card) + ENVELOPE_BYTES).toBeLessThan(sample.budget!.bytes);
    });
  } else {
    it("stays under the 40 KB budget with the message around it, counted in UTF-16 as Teams counts", () => {
      expect(utf16Bytes(card) + ENVELOPE_BYTES).toBeLessThan(CARD_BUDGET_BYTES);
    });
  }
});

describe("the message around a card", () => {
  let world: SampleWorld;
  beforeAll(async () => {
    world = await startSampleWorld();
  });
  afterAll(async () => {
    await world.stop();
  });

  it(`takes less than ${ENVELOPE_BYTES} bytes, in a sent message, an invoke answer and an update for everyone`, async () => {
    const help = await world.say("help");
    const sent = world.bot.connector.sent()[0];
    expect(utf16Bytes(sent) - utf16Bytes(help)).toBeLessThan(ENVELOPE_BYTES);

    const form = await world.say("incident");
    world.bot.connector.reset();
    const res = await world.bot.post(execute(world.bot.serviceUrl, "incident.create", { ...form.actions[0].data, ...values(form), title: "Envelope" }));
    expect(res.status).toBe(200);
    expect(utf16Bytes(res.body) - utf16Bytes(res.body.value)).toBeLessThan(ENVELOPE_BYTES);
    // The update for everyone goes out right after the answer.
    await world.bot.connector.waitForCalls(1);
    const [update] = world.bot.connector.updated();
    expect(cardOf(update!.activity)).toEqual(res.body.value);
    expect(utf16Bytes(update!.activity) - utf16Bytes(res.body.value)).toBeLessThan(ENVELOPE_BYTES);
  });
});
