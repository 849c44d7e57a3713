import { checkForm, readForm, TITLE_MAX_LENGTH } from "../../src/incidents/validation";
import { aForm } from "../support/builders";

function errorsOf(overrides: Parameters<typeof aForm>[0]) {
  const result = checkForm(aForm(overrides));
  return result.ok ? {} : result.errors;
}

describe("reading what a card sent", () => {
  it("treats absent fields as empty so that defaults apply", () => {
    const read = readForm({ title: "x" });
    expect(read).toEqual({ ok: true, form: expect.objectContaining({ title: "x", severity: "", owner: "" }) });
  });

  it("accepts tags sent as a list as well as one comma-separated string", () => {
    const read = readForm({ tags: ["a", "b"] });
    expect(read.ok && read.form.tags).toBe("a,b");
  });

  it.each([null, "text", 42, ["title"]])("refuses %p as form data", (data) => {
    expect(readForm(data)).toEqual({ ok: false, problem: "The form data is missing or is not an object." });
  });

  it("names every field that is not text", () => {
    expect(readForm({ title: 1, severity: { a: 1 }, tags: [1] })).toEqual({
      ok: false,
      problem: "These form fields must be text: title, severity, tags.",
    });
  });
});

describe("the rules of Sentinel's create panel", () => {
  it("trims the title and applies the defaults Medium and New", () => {
    const result = checkForm(aForm({ title: "  Odd e-mail  " }));
    expect(result).toMatchObject({ ok: true, value: { title: "Odd e-mail", severity: "Medium", status: "New", tags: [], ownerRef: "" } });
  });

  it.each(["", "   ", "\t"])("requires a title (%p is blank)", (title) => {
    expect(errorsOf({ title }).title).toBe("Enter a title.");
  });

  it(`bounds the title at ${TITLE_MAX_LENGTH} characters`, () => {
    expect(checkForm(aForm({ title: "t".repeat(TITLE_MAX_LENGTH) })).ok).toBe(true);
    expect(errorsOf({ title: "t".repeat(TITLE_MAX_LENGTH + 1) }).title).toBe(
      `Keep the title to ${TITLE_MAX_LENGTH} characters (it has ${TITLE_MAX_LENGTH + 1}).`,
    );
  });

  it("refuses line breaks and control characters in the title", () => {
    expect(errorsOf({ title: "a\nb" }).title).toMatch(/control characters or line breaks/);
    expect(errorsOf({ title: "a\u0000b" }).title).toMatch(/control characters/);
  });

  it("allows a description of exactly 5000 characters with line breaks, not 5001", () => {
    expect(checkForm(aForm({ description: "line\n".repeat(1000) })).ok).toBe(true);
    expect(errorsOf({ description: "d".repeat(5001) }).description).toBe("Keep the description to 5000 characters (it has 5001).");
    expect(errorsOf({ description: "bell\u0007" }).description).toMatch(/control characters/);
  });

  it.each(["High", "Medium", "Low", "Informational"])("accepts severity %s", (severity) => {
    expect(checkForm(aForm({ severity }))).toMatchObject({ ok: true, value: { severity } });
  });

  it.each(["high", "Critical", "1"])("refuses severity %p with the closed list", (severity) => {
    expect(errorsOf({ severity }).severity).toBe("Choose a severity: High, Medium, Low, Informational.");
  });

  it.each(["Resolved", "closed", "Open"])("refuses status %p with the closed list", (status) => {
    expect(errorsOf({ status }).status).toBe("Choose a status: New, Active, Closed.");
  });

  it("requires a classification and a closing comment when Closed, and reports both at once", () => {
    expect(errorsOf({ status: "Closed" })).toEqual({
      closing: "A closed incident needs a classification.",
      closingComment: "A closed incident needs a closing comment.",
    });
    expect(errorsOf({ status: "Closed", closing: "TruePositive.Whatever", closingComment: "x" }).closing).toBeDefined();
  });

  it.each([
    ["TruePositive.SuspiciousActivity", "TruePositive", "SuspiciousActivity"],
    ["BenignPositive.SuspiciousButExpected", "BenignPositive", "SuspiciousButExpected"],
    ["FalsePositive.IncorrectAlertLogic", "FalsePositive", "IncorrectAlertLogic"],
    ["FalsePositive.InaccurateData", "FalsePositive", "InaccurateData"],
    ["Undetermined", "Undetermined", undefined],
  ])("maps the closing choice %s to Sentinel's classification and reason", (closing, classification, reason) => {
    const result = checkForm(aForm({ status: "Closed", closing, closingComment: " done " }));
    expect(result).toMatchObject({ ok: true, value: { classification, classificationComment: "done" } });
    expect(result.ok && result.value.classificationReason).toBe(reason);
  });

  it("ignores a classification on an incident that is not Closed", () => {
    const result = checkForm(aForm({ status: "Active", closing: "Undetermined", closingComment: "x" }));
    expect(result.ok && result.value.classification).toBeUndefined();
  });

  it("accepts no owner, assign-to-me and directory object ids, nothing else", () => {
    expect(checkForm(aForm({ owner: "" })).ok).toBe(true);
    expect(checkForm(aForm({ owner: "me" })).ok).toBe(true);
    expect(checkForm(aForm({ owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01" })).ok).toBe(true);
    expect(errorsOf({ owner: "Alex Wilber" }).owner).toBe("Choose the owner from the list.");
  });

  it("requires the submission id the form was rendered with", () => {
    expect(errorsOf({ submissionId: "" }).title).toMatch(/out of date/);
    expect(errorsOf({ submissionId: "1; DROP TABLE" }).title).toMatch(/out of date/);
  });

  it("reports every field's error at once", () => {
    const errors = errorsOf({ title: "", severity: "x", status: "y", owner: "z", tags: "a".repeat(51), description: "d".repeat(5001) });
    expect(Object.keys(errors).sort()).toEqual(["description", "owner", "severity", "status", "tags", "title"]);
  });
});
