import {
  checkForm,
  COMMENT_MAX_LENGTH,
  DESCRIPTION_MAX_LENGTH,
  isObjectId,
  isUuid,
  readForm,
  readTextFields,
} from "../../src/incidents/validation";
import { aForm } from "../support/builders";

/** The analysts' form (src/incidents/validation.ts): every rule at its boundary, and the words of each error. */

function errorsOf(overrides: Parameters<typeof aForm>[0]) {
  const result = checkForm(aForm(overrides));
  return result.ok ? {} : result.errors;
}

describe("reading what a card sent (readForm, readTextFields)", () => {
  it("reads a missing or null field as empty", () => {
    const read = readForm({ title: null, description: undefined });
    expect(read.ok && [read.form.title, read.form.description]).toEqual(["", ""]);
  });

  it("takes the need-to-know toggle as a boolean, but no other field", () => {
    expect(readForm({ restricted: true })).toMatchObject({ ok: true, form: { restricted: "true" } });
    expect(readForm({ restricted: false })).toMatchObject({ ok: true, form: { restricted: "false" } });
    expect(readForm({ title: true })).toEqual({ ok: false, problem: "These form fields must be text: title." });
  });

  it("takes tags as a list of text only", () => {
    expect(readForm({ tags: [] })).toMatchObject({ ok: true, form: { tags: "" } });
    expect(readForm({ tags: ["a", 1] })).toEqual({ ok: false, problem: "These form fields must be text: tags." });
    expect(readForm({ owner: ["me"] })).toEqual({ ok: false, problem: "These form fields must be text: owner." });
  });

  it("names the kind of data it read in its problems", () => {
    expect(readTextFields(null, ["a"], "comment")).toEqual({
      ok: false,
      problem: "The comment data is missing or is not an object.",
    });
    expect(readTextFields({ a: 1, b: 2 }, ["a", "b"], "comment")).toEqual({
      ok: false,
      problem: "These comment fields must be text: a, b.",
    });
    expect(readTextFields({ a: 1 }, ["a"], "comment", (_f, v) => String(v))).toEqual({ ok: true, values: { a: "1" } });
  });
});

describe("ids a form carries", () => {
  it("takes a submission id only as a GUID, in either case, and stores it in lower case", () => {
    expect(isUuid("0F8FAD5B-D9CB-469F-A165-70867728950E")).toBe(true);
    expect(isUuid("0f8fad5b-d9cb-469f-a165-70867728950")).toBe(false);
    expect(isUuid(" 0f8fad5b-d9cb-469f-a165-70867728950e")).toBe(false);
    expect(isUuid("0f8fad5b-d9cb-469f-a165-70867728950e0")).toBe(false);
    expect(isUuid("0f8fad5bXd9cb-469f-a165-70867728950e")).toBe(false);
    const result = checkForm(aForm({ submissionId: "0F8FAD5B-D9CB-469F-A165-70867728950E" }));
    expect(result.ok && result.value.id).toBe("0f8fad5b-d9cb-469f-a165-70867728950e");
  });

  it("takes an owner id of 8 to 64 hex digits and dashes, starting with a hex digit", () => {
    expect(isObjectId("abcdef01")).toBe(true);
    expect(isObjectId("abcdef0")).toBe(false);
    expect(isObjectId("a".repeat(64))).toBe(true);
    expect(isObjectId("a".repeat(65))).toBe(false);
    expect(isObjectId("-abcdef01")).toBe(false);
    expect(isObjectId("abcdef01 ")).toBe(false);
    expect(isObjectId("x-abcdef01")).toBe(false);
    expect(isObjectId("ABCDEF01-0000")).toBe(true);
  });
});

describe("the form's rules at their boundaries", () => {
  it("says the form is out of date rather than asking for a title when both are wrong", () => {
    expect(errorsOf({ submissionId: "", title: "" })).toEqual({
      title: "This form is out of date. Open a new one with /incident.",
    });
    expect(errorsOf({ submissionId: "", title: "t".repeat(300) }).title).toMatch(/out of date/);
  });

  it("refuses the line and paragraph separators in a title, and a trailing control character", () => {
    for (const title of ["a\u2028b", "a\u2029b", "a\u0085b", "a\u007f", "a\tb"]) {
      expect([title, errorsOf({ title }).title]).toEqual([title, "The title can't contain control characters or line breaks."]);
    }
  });

  it("keeps line breaks and tabs in a description, and refuses other control characters anywhere in it", () => {
    expect(checkForm(aForm({ description: "one\r\ntwo\tthree\n" })).ok).toBe(true);
    for (const description of ["\u000bx", "x\u000c", "a\u0000b", "a\u001fb", "a\u007fb", "a\u009fb", "a\u0080b"]) {
      expect([description, errorsOf({ description }).description]).toEqual([
        description,
        "The description can't contain control characters.",
      ]);
    }
    expect(checkForm(aForm({ description: "\u00a0non-breaking space and ünïcødé" })).ok).toBe(true);
  });

  it(`takes a description of exactly ${DESCRIPTION_MAX_LENGTH} characters, counted before any trimming`, () => {
    expect(checkForm(aForm({ description: "d".repeat(DESCRIPTION_MAX_LENGTH) })).ok).toBe(true);
    expect(errorsOf({ description: ` ${"d".repeat(DESCRIPTION_MAX_LENGTH)}` }).description).toBe(
      `Keep the description to ${DESCRIPTION_MAX_LENGTH} characters (it has ${DESCRIPTION_MAX_LENGTH + 1}).`,
    );
    expect(errorsOf({ description: `${"d".repeat(DESCRIPTION_MAX_LENGTH)}\u0007` }).description).toMatch(/^Keep the description/);
  });

  it("applies Medium and New to blank choices and trims the ones given", () => {
    expect(checkForm(aForm({ severity: "  ", status: " " }))).toMatchObject({
      ok: true,
      value: { severity: "Medium", status: "New" },
    });
    expect(checkForm(aForm({ severity: " Low ", status: " Active " }))).toMatchObject({
      ok: true,
      value: { severity: "Low", status: "Active" },
    });
  });

  it(`takes a closing comment of up to ${COMMENT_MAX_LENGTH} characters after trimming, without control characters`, () => {
    const closed = { status: "Closed", closing: " TruePositive.SuspiciousActivity " };
    expect(checkForm(aForm({ ...closed, closingComment: ` ${"c".repeat(COMMENT_MAX_LENGTH)} ` }))).toMatchObject({
      ok: true,
      value: { classification: "TruePositive", classificationComment: "c".repeat(COMMENT_MAX_LENGTH) },
    });
    expect(errorsOf({ ...closed, closingComment: "c".repeat(COMMENT_MAX_LENGTH + 1) })).toEqual({
      closingComment: `Keep the closing comment to ${COMMENT_MAX_LENGTH} characters (it has ${COMMENT_MAX_LENGTH + 1}).`,
    });
    expect(errorsOf({ ...closed, closingComment: "done\u0007" })).toEqual({
      closingComment: "The closing comment can't contain control characters.",
    });
    expect(checkForm(aForm({ ...closed, closingComment: "line one\nline two\ttab" })).ok).toBe(true);
  });

  it("keeps no closing comment on an incident that is not closed", () => {
    const result = checkForm(aForm({ status: "Active", closing: "Undetermined", closingComment: "done" }));
    expect(result).toMatchObject({ ok: true, value: { classificationComment: undefined, classificationReason: undefined } });
  });

  it("accepts only the exact word for Assign to me", () => {
    expect(checkForm(aForm({ owner: " me " }))).toMatchObject({ ok: true, value: { ownerRef: "me" } });
    expect(errorsOf({ owner: "ME" })).toEqual({ owner: "Choose the owner from the list." });
  });

  it("reports a tag's problem against the tags", () => {
    expect(errorsOf({ tags: "ok,\u0001" })).toEqual({ tags: "Tags can't contain control characters." });
  });

  it("returns the tags cleaned", () => {
    expect(checkForm(aForm({ tags: " Phishing ,phishing, VIP " }))).toMatchObject({
      ok: true,
      value: { tags: ["Phishing", "VIP"] },
    });
  });

  it("is need-to-know only for the toggle's true", () => {
    expect(checkForm(aForm({ restricted: "true" }))).toMatchObject({ ok: true, value: { restricted: true } });
    for (const restricted of ["false", "TRUE", "yes", "", undefined]) {
      expect(checkForm(aForm({ restricted }))).toMatchObject({ ok: true, value: { restricted: false } });
    }
  });
});
