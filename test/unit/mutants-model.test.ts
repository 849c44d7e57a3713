import { DirectoryUnavailableError, StoreUnavailableError } from "../../src/incidents/errors";
import {
  CLOSING_CHOICES,
  closingChoice,
  closingChoiceOf,
  incidentRef,
  personKey,
  reporterKeys,
  type ReportAccount,
} from "../../src/incidents/model";

/** The incident's vocabulary (src/incidents/model.ts, errors.ts): closing choices, who is who, how incidents are named. */

describe("the closing choices Sentinel offers", () => {
  it("are the five of Sentinel's panel, in its order, with its labels", () => {
    expect(CLOSING_CHOICES.map((c) => [c.value, c.label])).toEqual([
      ["TruePositive.SuspiciousActivity", "True Positive - suspicious activity"],
      ["BenignPositive.SuspiciousButExpected", "Benign Positive - suspicious but expected"],
      ["FalsePositive.IncorrectAlertLogic", "False Positive - incorrect alert logic"],
      ["FalsePositive.InaccurateData", "False Positive - inaccurate data"],
      ["Undetermined", "Undetermined"],
    ]);
  });

  it("are found by the value a form sends, and by what an incident was closed with", () => {
    expect(closingChoice("FalsePositive.InaccurateData")?.label).toBe("False Positive - inaccurate data");
    expect(closingChoice("falsepositive.inaccuratedata")).toBeUndefined();
    expect(closingChoice("")).toBeUndefined();
    expect(closingChoiceOf({ classification: "FalsePositive", classificationReason: "IncorrectAlertLogic" })?.value).toBe(
      "FalsePositive.IncorrectAlertLogic",
    );
    expect(closingChoiceOf({ classification: "Undetermined" })?.value).toBe("Undetermined");
  });

  it("give nothing for an incident without a classification, or with a reason Sentinel does not pair with it", () => {
    expect(closingChoiceOf({})).toBeUndefined();
    expect(closingChoiceOf({ classification: "TruePositive" })).toBeUndefined();
    expect(closingChoiceOf({ classification: "TruePositive", classificationReason: "InaccurateData" })).toBeUndefined();
  });
});

describe("who a person is (personKey, reporterKeys)", () => {
  it("is their directory object id, in lower case, when Teams gave one, else their Teams id", () => {
    expect(personKey({ objectId: "6F1C2D3E-0000-4000-8000-00000000ABCD", teamsId: "29:x" })).toBe(
      "aad:6f1c2d3e-0000-4000-8000-00000000abcd",
    );
    expect(personKey({ teamsId: "29:Guest-MRI" })).toBe("teams:29:Guest-MRI");
    expect(personKey({})).toBeUndefined();
    expect(personKey({ objectId: "", teamsId: "" })).toBeUndefined();
  });

  it("lists each reporter once, the creator first, leaving out people Teams did not identify", () => {
    const report = (reporter: ReportAccount["reporter"]): ReportAccount => ({
      reporter,
      timeUtc: "2026-11-20T10:00:00.000Z",
      entryPoint: "message-extension",
      title: "t",
      words: "w",
    });
    expect(
      reporterKeys({
        createdBy: { objectId: "AAA", name: "Megan" },
        reports: [
          report({ teamsId: "29:b", name: "B" }),
          report({ name: "Nobody" }),
          report({ objectId: "aaa", name: "Megan again" }),
        ],
      }),
    ).toEqual(["aad:aaa", "teams:29:b"]);
    expect(reporterKeys({ createdBy: { name: "Nobody" } })).toEqual([]);
  });
});

describe("how people refer to an incident", () => {
  it("is INC- and its number", () => {
    expect(incidentRef({ incidentNumber: 42 })).toBe("INC-42");
  });
});

describe("the failures the domain names", () => {
  it("carry their name, message and cause, and are told apart", () => {
    const cause = new Error("ECONNREFUSED");
    const store = new StoreUnavailableError("The store is down.", { cause });
    expect([store.name, store.message, store.cause]).toEqual(["StoreUnavailableError", "The store is down.", cause]);
    expect(store).toBeInstanceOf(Error);
    const directory = new DirectoryUnavailableError("The directory is down.", { cause });
    expect([directory.name, directory.message, directory.cause]).toEqual([
      "DirectoryUnavailableError",
      "The directory is down.",
      cause,
    ]);
    expect(directory).not.toBeInstanceOf(StoreUnavailableError);
  });
});
