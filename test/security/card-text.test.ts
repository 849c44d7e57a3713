import { aForm } from "../support/builders";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, elements, values, visibleText, type Element } from "../support/cards";
import { execute, submitMessage } from "../support/teams";

/**
 * What people type reaches cards only as text. test/teams/incident-form.test.ts checks the title
 * and description of the confirmation; this covers every field, the form that comes back with
 * errors (and the error texts themselves), the card everyone sees, and more template syntax.
 * Markdown renders in TextBlock text, Fact titles and values and action titles; TextRun text,
 * input values and choice titles are shown as typed.
 */

const PAYLOADS = {
  link: "[Reset your password](https://evil.example/reset)",
  bareLink: "https://evil.example/raw",
  mention: "<at>Everyone</at>",
  bold: "**URGENT** _now_",
  heading: "# Pay this invoice",
  html: "<img src=x onerror=alert(1)>",
  template: "${incident.title} ${$root.submissionId} ${if(true, 'yes', 'no')} ${json('{}')}",
};
/** Tags can't hold commas and have at most 50 characters. */
const TAG_PAYLOADS = ["[x](https://evil.example/t)", "<at>Everyone</at>", "**URGENT**", "${incident.title}", "${$root.form.title}"];
/** Signs of people's markup: a link's "](", a URL, a mention, emphasis, a template, HTML, a heading. */
const MARKERS = ["](", "http", "evil.example", "<at>", "**", "${", "<img", "# Pay"];

/** Every string a client would render as markdown. */
function markdownTexts(card: Element): string[] {
  const out: string[] = [];
  for (const e of elements(card)) {
    if (e.type === "TextBlock") out.push(String(e.text));
    if (e.type === "FactSet") for (const f of e.facts as Element[]) out.push(String(f.title), String(f.value));
  }
  for (const a of (card.actions ?? []) as Element[]) out.push(String(a.title ?? ""));
  return out;
}

/** Text runs as read: without the zero-width breaks cards.ts puts into long unbroken runs so they wrap. */
function textRuns(card: Element): string[] {
  return elements(card)
    .filter((e) => e.type === "RichTextBlock")
    .flatMap((e) => (e.inlines as Element[]).map((i) => String(i.text).replace(/\u200b/g, "")));
}

function expectNoMarkdownFromPeople(card: Element) {
  for (const text of markdownTexts(card)) for (const marker of MARKERS) expect(text).not.toContain(marker);
}

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

const description = Object.values(PAYLOADS).join("\n");

describe("people's text in cards", () => {
  it("shows every field of a created incident as plain text runs, with template syntax left as typed", async () => {
    const form = {
      ...aForm(),
      title: `${PAYLOADS.link} ${PAYLOADS.mention} ${PAYLOADS.template}`,
      description,
      status: "Closed",
      closing: "TruePositive.SuspiciousActivity",
      closingComment: `${PAYLOADS.bold} ${PAYLOADS.bareLink} ${PAYLOADS.template}`,
      tags: TAG_PAYLOADS.join(","),
    };
    bot.connector.reset();
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", form));
    const card = res.body.value;
    expect(visibleText(card)[0]).toMatch(/^Incident INC-\d+ created$/);
    expectNoMarkdownFromPeople(card);
    const runs = textRuns(card);
    expect(runs).toContain(form.title);
    expect(runs).toContain(form.closingComment);
    expect(runs.some((r) => r.includes(PAYLOADS.template) && r.includes(PAYLOADS.html))).toBe(true);
    expect(runs).toContain(TAG_PAYLOADS.join(", "));
    // The stored incident holds exactly what was typed: nothing evaluated on the way in either.
    expect(await bot.app.service.get(form.submissionId)).toMatchObject({ title: form.title, description, classificationComment: form.closingComment });
    // Everyone else gets the same card (sent after the answer).
    await bot.connector.waitForCalls(1);
    expect(cardOf(bot.connector.updated()[0]!.activity)).toEqual(card);
  });

  it("keeps every value of a form sent back with errors exactly as typed, and no error repeats people's markdown", async () => {
    const form = {
      ...aForm(),
      title: `${PAYLOADS.template} ${PAYLOADS.link}`,
      description,
      severity: "${form.severity}",
      status: "Closed",
      closing: "",
      closingComment: PAYLOADS.template,
      owner: "[CEO](https://evil.example/ceo)",
      // Too long a tag, starting with a whole link in 20 characters: what an error quoting its start would show.
      tags: `ok,[a](https://ev.il/x)${"a".repeat(40)}`,
      // Defender's fields: each error names the value that failed, as a text run.
      category: PAYLOADS.link,
      techniques: `${PAYLOADS.link},${PAYLOADS.template}`,
      recommendedActions: description,
      impacted: "[CEO](https://evil.example/ceo)",
      impactedTyped: `${PAYLOADS.link}\n${PAYLOADS.bold}`,
      evidenceTyped: `${PAYLOADS.bareLink} x\n${PAYLOADS.mention}\n${PAYLOADS.html}`,
    };
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", form));
    const card = res.body.value;
    const runs = textRuns(card).join("\n");
    for (const quoted of ["[Reset your password](https://ev", "[ceo](https://evil.example/ceo)", "<at>Everyone</at>"]) expect(runs).toContain(quoted);
    expect(visibleText(card)).toEqual(expect.arrayContaining(["Choose the owner from the list.", "A closed incident needs a classification."]));
    expect(visibleText(card).some((t) => t.startsWith("Each tag can be at most 50 characters"))).toBe(true);
    expectNoMarkdownFromPeople(card);
    const { submissionId, ...inputs } = form;
    // Nothing chosen to attach to: the form's default, a new incident.
    expect(values(card)).toEqual({ ...inputs, attachTo: "new" });
    expect(card.actions[0].data.submissionId).toBe(submissionId);
  });

  it("does the same in the form sent back to an old client (as a new message: only an incident's own message is updated)", async () => {
    bot.connector.reset();
    const form = { ...aForm(), title: PAYLOADS.template, description: PAYLOADS.link, tags: `${"[b](https://evil.example)".padEnd(60, "b")}` };
    await bot.post(submitMessage(bot.serviceUrl, { verb: "incident.create", ...form }, { replyToId: "old-card-9" }));
    expect(bot.connector.updated()).toEqual([]);
    const card = cardOf(bot.connector.sent().at(-1));
    expectNoMarkdownFromPeople(card);
    expect(values(card)).toMatchObject({ title: PAYLOADS.template, description: PAYLOADS.link });
  });
});
