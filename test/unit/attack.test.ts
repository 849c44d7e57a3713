import data from "../../src/incidents/attack-techniques.json";
import {
  ALERT_CATEGORIES,
  alertCategory,
  ATTACK_VERSION,
  findTechniques,
  parseTechniques,
  technique,
  TECHNIQUES_MAX,
  techniqueTitle,
} from "../../src/incidents/attack";

const TACTICS = [
  "reconnaissance",
  "resource-development",
  "initial-access",
  "execution",
  "persistence",
  "privilege-escalation",
  "defense-evasion",
  "credential-access",
  "discovery",
  "lateral-movement",
  "collection",
  "command-and-control",
  "exfiltration",
  "impact",
];

describe("the shipped ATT&CK Enterprise technique list", () => {
  const techniques = data.techniques as [string, string, string[]][];

  it("names its source and version", () => {
    expect(data.source).toContain("github.com/mitre/cti");
    expect(ATTACK_VERSION).toMatch(/^\d+\.\d+$/);
  });

  it("holds each technique once, sorted by id, every sub-technique under a technique it also holds, every tactic one of ATT&CK's 14", () => {
    const ids = techniques.map(([id]) => id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a.localeCompare(b))).toEqual(ids);
    for (const [id, name, tactics] of techniques) {
      expect(id).toMatch(/^T\d{4}(\.\d{3})?$/);
      expect(name.trim()).toBe(name);
      expect(name.length).toBeGreaterThan(0);
      if (id.includes(".")) expect(ids).toContain(id.split(".")[0]);
      for (const t of tactics) expect(TACTICS).toContain(t);
    }
    // Enterprise ATT&CK v18 has some 200 techniques and 400 sub-techniques; a broken generation has far fewer.
    expect(ids.filter((id) => !id.includes(".")).length).toBeGreaterThan(180);
    expect(ids.filter((id) => id.includes(".")).length).toBeGreaterThan(380);
  });

  it("knows phishing and its sub-techniques by id, in any case, and titles a sub-technique with its parent", () => {
    expect(technique("t1566.002")).toEqual({ id: "T1566.002", name: "Spearphishing Link", tactics: ["initial-access"] });
    expect(techniqueTitle(technique("T1566.002")!)).toBe("T1566.002 Phishing: Spearphishing Link");
    expect(techniqueTitle(technique("T1566")!)).toBe("T1566 Phishing");
    expect(technique("T9999")).toBeUndefined();
    expect(technique("T1566.999")).toBeUndefined();
  });
});

describe("finding techniques for the typeahead", () => {
  it("puts ids that start with what was typed first, then names that contain it", () => {
    expect(findTechniques("T1566", 10).map((t) => t.id)).toEqual(["T1566", "T1566.001", "T1566.002", "T1566.003", "T1566.004"]);
    const phish = findTechniques("spearphishing", 50).map((t) => t.id);
    expect(phish).toEqual(expect.arrayContaining(["T1566.001", "T1566.002", "T1566.003", "T1566.004"]));
    expect(findTechniques("phish", 3)).toHaveLength(3);
  });

  it("offers techniques, not sub-techniques, before anything is typed", () => {
    const first = findTechniques("  ", 25);
    expect(first).toHaveLength(25);
    expect(first.every((t) => !t.id.includes("."))).toBe(true);
  });
});

describe("the form's technique ids", () => {
  it("are checked against ATT&CK, upper-cased and deduplicated", () => {
    expect(parseTechniques(" t1566 , T1566.002,T1566, ")).toEqual({ ok: true, ids: ["T1566", "T1566.002"] });
    expect(parseTechniques("")).toEqual({ ok: true, ids: [] });
  });

  it("refuse an id ATT&CK Enterprise does not have, naming it", () => {
    const result = parseTechniques("T1566,T9999,phishing");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain("T9999, phishing");
  });

  it(`take ${TECHNIQUES_MAX} techniques and refuse one more`, () => {
    const ids = (data.techniques as [string, string, string[]][]).map(([id]) => id);
    expect(parseTechniques(ids.slice(0, TECHNIQUES_MAX).join(","))).toEqual({ ok: true, ids: ids.slice(0, TECHNIQUES_MAX) });
    const over = parseTechniques(ids.slice(0, TECHNIQUES_MAX + 1).join(","));
    expect(over).toEqual({ ok: false, error: `Choose at most ${TECHNIQUES_MAX} techniques (you chose ${TECHNIQUES_MAX + 1}).` });
  });
});

describe("Defender's alert categories", () => {
  it("are the 14 ATT&CK tactics and Defender's own five", () => {
    expect(ALERT_CATEGORIES).toHaveLength(19);
    for (const own of ["Exploit", "Malware", "Ransomware", "SuspiciousActivity", "UnwantedSoftware"]) {
      expect(alertCategory(own)).toBe(own);
    }
    for (const tactic of TACTICS) {
      // command-and-control -> CommandAndControl
      const value = tactic.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
      expect(alertCategory(value)).toBe(value);
    }
  });

  it("are read without case and refuse anything else", () => {
    expect(alertCategory(" initialaccess ")).toBe("InitialAccess");
    expect(alertCategory("Phishing")).toBeUndefined();
    expect(alertCategory("")).toBeUndefined();
  });
});
