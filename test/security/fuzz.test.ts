import fc from "fast-check";
import { CLOSING_CHOICES, SEVERITIES, STATUSES } from "../../src/incidents/model";
import { TAG_MAX_COUNT, TAG_MAX_LENGTH } from "../../src/incidents/tags";
import { checkForm, FORM_FIELDS, readForm, type FieldName, type IncidentForm } from "../../src/incidents/validation";
import { startTestBot, type TestBot } from "../support/bot";
import { visibleText } from "../support/cards";
import { healthy, postRaw, storedIn, tagUsageMismatches } from "../support/security";
import { execute, search } from "../support/teams";

/**
 * Property-based fuzzing: validation never throws and never lets a broken form through, and the
 * invoke handlers answer anything at all with a 2xx or a 4xx that says what is wrong. Bounded runs,
 * fixed seeds, so a failure can be replayed.
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Text as people and attackers type it: any Unicode, control characters, markup, templates, huge. */
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\t\n", "${title}", "**b**", "[x](https://evil.example)", "<at>Everyone</at>", "a,b,,c", "me", "\u0000", "\u2028") },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 6000 }).map((n) => "x".repeat(n)) },
);
const choiceOr = (values: readonly string[]) => fc.oneof(fc.constantFrom(...values, ""), text);
const tagsArb = fc.oneof(
  text,
  fc.array(fc.string({ maxLength: 60 }), { maxLength: 30 }).map((t) => t.join(",")),
);
const formArb: fc.Arbitrary<IncidentForm> = fc.record({
  submissionId: fc.oneof(fc.uuid(), text),
  title: text,
  description: text,
  severity: choiceOr(SEVERITIES),
  status: choiceOr(STATUSES),
  closing: choiceOr(CLOSING_CHOICES.map((c) => c.value)),
  closingComment: text,
  owner: fc.oneof(fc.constantFrom("", "me", "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01"), text),
  tags: tagsArb,
});

/** A form that passes, built from valid values only. */
const validForm: fc.Arbitrary<IncidentForm> = fc.record({
  submissionId: fc.uuid(),
  title: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 .,:'()-]{0,60}$/),
  description: fc.string({ maxLength: 200 }).filter((d) => !CONTROL.test(d)),
  severity: fc.constantFrom(...SEVERITIES, ""),
  status: fc.constantFrom("New", "Active", ""),
  closing: fc.constant(""),
  closingComment: fc.constant(""),
  owner: fc.constantFrom("", "me", "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01"),
  tags: fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 -]{0,20}$/), { maxLength: 5 }).map((t) => t.join(",")),
});

describe("validation (checkForm, readForm) under fuzzing", () => {
  it("readForm never throws, and says which fields are not text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...FORM_FIELDS, "verb", "__proto__", "constructor"), fc.anything())), (data) => {
        const read = readForm(data);
        if (read.ok) {
          for (const field of FORM_FIELDS) expect(typeof read.form[field]).toBe("string");
        } else {
          expect(read.problem).toMatch(/^(The form data is missing or is not an object\.|These form fields must be text: [a-zA-Z, ]+\.)$/);
        }
      }),
      { numRuns: 500, seed: 8001 },
    );
  });

  it("checkForm never throws; what it accepts keeps every rule, what it refuses has an error per field", () => {
    fc.assert(
      fc.property(formArb, (form) => {
        const checked = checkForm(form);
        if (!checked.ok) {
          const errors = Object.entries(checked.errors);
          expect(errors.length).toBeGreaterThan(0);
          for (const [field, message] of errors) {
            expect(FORM_FIELDS).toContain(field);
            expect(typeof message === "string" && message.length > 0).toBe(true);
          }
          return;
        }
        const v = checked.value;
        expect(v.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(v.title).toBe(v.title.trim());
        expect(v.title.length).toBeGreaterThan(0);
        expect(v.title.length).toBeLessThanOrEqual(256);
        expect(v.title).not.toMatch(CONTROL_OR_BREAK);
        expect(v.description.length).toBeLessThanOrEqual(5000);
        expect(v.description).not.toMatch(CONTROL);
        expect(SEVERITIES).toContain(v.severity);
        expect(STATUSES).toContain(v.status);
        if (v.status === "Closed") {
          expect(v.classification).toBeDefined();
          expect(v.classificationComment?.trim()).toBeTruthy();
        } else {
          expect(v.classification).toBeUndefined();
        }
        expect(v.tags.length).toBeLessThanOrEqual(TAG_MAX_COUNT);
        expect(new Set(v.tags.map((t) => t.toLowerCase())).size).toBe(v.tags.length);
        for (const tag of v.tags) {
          expect(tag.length).toBeGreaterThan(0);
          expect(tag.length).toBeLessThanOrEqual(TAG_MAX_LENGTH);
          expect(tag).not.toMatch(/,|^\s|\s$/);
          expect(tag).not.toMatch(CONTROL_OR_BREAK);
        }
      }),
      { numRuns: 1000, seed: 8002 },
    );
  });

  /** Ways to break exactly one rule, each with the field whose error must appear. */
  const breakages: [FieldName, fc.Arbitrary<(f: IncidentForm) => IncidentForm>][] = [
    ["title", fc.constantFrom("", "   ", "\t\u00a0").map((t) => (f) => ({ ...f, title: t }))],
    ["title", fc.integer({ min: 257, max: 2000 }).map((n) => (f) => ({ ...f, title: "t".repeat(n) }))],
    ["title", fc.constantFrom("\u0000", "\n", "\u2028", "\u001b", "\u0085").map((c) => (f) => ({ ...f, title: `a${c}b` }))],
    ["title", fc.string({ minLength: 1, maxLength: 30 }).filter((id) => !/^[0-9a-f-]{36}$/i.test(id)).map((id) => (f) => ({ ...f, submissionId: id }))],
    ["description", fc.integer({ min: 5001, max: 9000 }).map((n) => (f) => ({ ...f, description: "d".repeat(n) }))],
    ["description", fc.constantFrom("\u0000", "\u0007", "\u007f", "\u009b").map((c) => (f) => ({ ...f, description: `x${c}y` }))],
    ["severity", fc.string({ minLength: 1 }).filter((s) => !!s.trim() && !(SEVERITIES as readonly string[]).includes(s.trim())).map((s) => (f) => ({ ...f, severity: s }))],
    ["status", fc.string({ minLength: 1 }).filter((s) => !!s.trim() && !(STATUSES as readonly string[]).includes(s.trim())).map((s) => (f) => ({ ...f, status: s }))],
    ["closing", fc.string().filter((c) => !CLOSING_CHOICES.some((x) => x.value === c.trim())).map((c) => (f) => ({ ...f, status: "Closed", closing: c, closingComment: "Checked." }))],
    ["closingComment", fc.constantFrom("", "  ", "\n").map((c) => (f) => ({ ...f, status: "Closed", closing: "Undetermined", closingComment: c }))],
    ["owner", fc.string({ minLength: 1 }).filter((o) => !!o.trim() && o.trim() !== "me" && !/^[0-9a-f][0-9a-f-]{7,63}$/i.test(o.trim())).map((o) => (f) => ({ ...f, owner: o }))],
    ["tags", fc.integer({ min: 21, max: 200 }).map((n) => (f) => ({ ...f, tags: Array.from({ length: n }, (_, i) => `tag${i}`).join(",") }))],
    ["tags", fc.integer({ min: 51, max: 500 }).map((n) => (f) => ({ ...f, tags: `fine,${"x".repeat(n)}` }))],
    ["tags", fc.constantFrom("\u0000", "\u0007", "\u009b").map((c) => (f) => ({ ...f, tags: `ok,b${c}d` }))],
  ];

  it("every way of breaking a rule yields an error on that field", () => {
    fc.assert(
      fc.property(validForm, fc.oneof(...breakages.map(([field, arb]) => arb.map((breakIt) => ({ field, breakIt })))), (form, { field, breakIt }) => {
        expect(checkForm(form).ok).toBe(true);
        const checked = checkForm(breakIt(form));
        expect(checked.ok).toBe(false);
        if (!checked.ok) expect(checked.errors[field]).toEqual(expect.any(String));
      }),
      { numRuns: 500, seed: 8003 },
    );
  });
});

describe("the invoke handlers over HTTP under fuzzing", () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ RATE_LIMIT_CREATES_PER_MINUTE: "10000", RATE_LIMIT_SEARCHES_PER_MINUTE: "100000" });
  });
  afterAll(async () => {
    await bot.stop();
  });

  const verbs = fc.oneof(
    { weight: 4, arbitrary: fc.constant("incident.create") },
    { weight: 1, arbitrary: fc.constantFrom("incident.form", "incident.update", "report.create", "triage.assign", "triage.view", "no.such.verb") },
  );
  /** Mostly what Teams sends, with one part or another wrong; sometimes anything at all. */
  const often = <T, U>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) => fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: odd });
  const formData = fc.oneof(
    { weight: 3, arbitrary: validForm.map((f) => ({ ...f })) },
    { weight: 3, arbitrary: formArb.map((f) => ({ ...f })) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...FORM_FIELDS), fc.anything()) },
    { weight: 1, arbitrary: fc.anything() },
  );
  const cardAction = fc.record({
    action: often(fc.record({ type: often(fc.constant("Action.Execute"), fc.anything()), verb: often(verbs, fc.anything()), data: formData }), fc.anything()),
    trigger: fc.constant("manual"),
  });
  const searchValue = fc.record(
    {
      queryText: often(text, fc.anything()),
      dataset: often(fc.constantFrom("owners", "tags"), fc.oneof(fc.string(), fc.anything())),
      queryOptions: often(fc.record({ skip: fc.nat(50), top: fc.integer({ min: 1, max: 50 }) }), fc.anything()),
    },
    { requiredKeys: ["dataset"] },
  );
  const invoke = fc.oneof(
    fc.tuple(fc.constant("adaptiveCard/action"), often(cardAction, fc.anything())),
    fc.tuple(fc.constant("application/search"), often(searchValue, fc.anything())),
  );

  it("answers 200 runs of arbitrary invokes with a 2xx or a 4xx that says what is wrong, and stores only what it confirms", async () => {
    const confirmed = new Set<string>();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(invoke, async ([name, value]) => {
        const activity = name === "adaptiveCard/action" ? execute(bot.serviceUrl, "x", {}) : search(bot.serviceUrl, "owners", "");
        // JSON drops what it can't carry (undefined, functions): send exactly what JSON makes of the value.
        const res = await postRaw(bot.app.url, JSON.stringify({ ...activity, value }));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.body).toMatchObject({ statusCode: res.status, type: "application/vnd.microsoft.error", value: { code: expect.any(String), message: expect.any(String) } });
          expect(res.body.value.message.length).toBeGreaterThan(10);
        } else {
          expect(res.status).toBe(200);
          expect(["application/vnd.microsoft.card.adaptive", "application/vnd.microsoft.search.searchResponse"]).toContain(res.body?.type);
          const heading = res.body.type === "application/vnd.microsoft.card.adaptive" ? visibleText(res.body.value)[0] : undefined;
          const created = heading?.match(/^Incident (INC-\d+) created$/);
          if (created) confirmed.add(created[1]!);
        }
      }),
      { numRuns: 200, seed: 8004 },
    );
    expect(await healthy(bot.app.url)).toBe(true);
    const stored = storedIn(bot.app.config.SQLITE_PATH);
    expect(stored.incidents).toBe(confirmed.size);
    expect(tagUsageMismatches(bot.app.config.SQLITE_PATH)).toEqual([]);
    // Figures for docs/reliability.md.
    process.stdout.write(`invoke fuzz: ${JSON.stringify(Object.fromEntries(statuses))}, incidents created and confirmed: ${confirmed.size}\n`);
  });
});
