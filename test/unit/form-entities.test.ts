import path from "node:path";
import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { boxPieces, ENTITY_BOX_MAX_LENGTH, evidenceId, impactedBox, parseEntityBox } from "../../src/incidents/form-entities";
import type { Entity } from "../../src/incidents/entities";
import { IncidentService } from "../../src/incidents/service";
import { checkForm, readForm } from "../../src/incidents/validation";
import { aForm } from "../support/builders";

const ALEX = { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber" };

function service(categoryRequired?: boolean) {
  const directory = LocalDirectory.fromFile(path.resolve(__dirname, "..", "..", "data", "directory.json"));
  return new IncidentService({ store: new SqliteIncidentStore(":memory:"), directory, workspaceId: "ws", ...(categoryRequired !== undefined && { categoryRequired }) });
}

describe("the category rule", () => {
  it("is optional by default and required when the service says so (the Defender sink)", async () => {
    expect((await service().create(aForm({ title: "No category" }), ALEX, "form")).kind).toBe("created");
    const required = service(true);
    const refused = await required.create(aForm({ title: "No category" }), ALEX, "form");
    expect(refused).toEqual({ kind: "invalid", errors: { category: "Choose a category (19 to choose from, as in Microsoft Defender)." } });
    const ok = await required.create(aForm({ title: "With one", category: "initialaccess" }), ALEX, "form");
    expect(ok).toMatchObject({ kind: "created", incident: { category: "InitialAccess" } });
  });

  it("is not asked of an employee's report, even when required", async () => {
    expect((await service(true).create(aForm({ title: "Report" }), ALEX, "chat-report", { role: "employee" })).kind).toBe("created");
  });
});

describe("the boxes of typed entities", () => {
  it(`take ${ENTITY_BOX_MAX_LENGTH} characters and refuse one more`, () => {
    // Devices separated by commas: "laptop-0001, laptop-0002, ..." cut to the limit on a whole name.
    const names = Array.from({ length: 100 }, (_, i) => `laptop-${String(i).padStart(4, "0")}`).join(", ");
    const full = names.slice(0, ENTITY_BOX_MAX_LENGTH).replace(/,?\s*[^,]*$/, "");
    const exact = full + ", x".padEnd(ENTITY_BOX_MAX_LENGTH - full.length, "y");
    expect(exact).toHaveLength(ENTITY_BOX_MAX_LENGTH);
    expect(parseEntityBox(exact, "impacted").ok).toBe(true);
    const over = parseEntityBox(exact + "z", "impacted");
    expect(over).toEqual({ ok: false, error: `Keep this box to ${ENTITY_BOX_MAX_LENGTH} characters (it has ${ENTITY_BOX_MAX_LENGTH + 1}).` });
  });

  it("splits on lines and commas, keeping a URL's own commas", () => {
    expect(boxPieces(" a.com,b.com\n\nhttps://x.com/a,b, 10.0.0.1\r\nhxxps://y[.]com/?q=1,2")).toEqual([
      "a.com",
      "b.com",
      "https://x.com/a,b",
      "10.0.0.1",
      "hxxps://y[.]com/?q=1,2",
    ]);
  });

  it("merges duplicates typed twice, defanged once", () => {
    const box = parseEntityBox("evil-login.com\nevil-login[.]com\nEVIL-LOGIN.COM", "related");
    expect(box).toMatchObject({ ok: true, entities: [{ type: "domain", value: "evil-login.com" }] });
  });

  it("reads back as the same entities it was written from (the edit form's prefill)", () => {
    const typed: Entity[] = [
      { type: "device", identifier: "deviceName", value: "web01.contoso.com", role: "impacted", source: "typed" },
      { type: "device", identifier: "deviceName", value: "laptop-7", role: "impacted", source: "typed" },
      { type: "mailbox", identifier: "mailboxPrimaryAddress", value: "ceo@contoso.com", role: "impacted", source: "typed" },
      { type: "ip", identifier: "address", value: "2001:db8::7", role: "impacted", source: "typed" },
      { type: "user", identifier: "userPrincipalName", value: "alex@contoso.com", role: "impacted", source: "extracted" },
      { type: "url", identifier: "url", value: "https://x.com/a,b", role: "impacted", source: "typed" },
    ];
    const box = impactedBox(typed);
    expect(box).toBe("device: web01.contoso.com\nlaptop-7\nmailbox: ceo@contoso.com\n2001:db8::7\nuser: alex@contoso.com\nhttps://x.com/a,b");
    const back = parseEntityBox(box, "impacted");
    expect(back.ok && back.entities.map(evidenceId)).toEqual(typed.map(evidenceId));
  });
});

describe("reading the form", () => {
  it("takes multi-selects as lists too, and refuses a list of other things", () => {
    const read = readForm({ ...aForm(), techniques: ["T1566", "T1078"], impacted: [], evidenceKept: ["a", "b"] });
    expect(read).toMatchObject({ ok: true, form: { techniques: "T1566,T1078", impacted: "", evidenceKept: "a,b" } });
    expect(readForm({ ...aForm(), techniques: [1] })).toEqual({ ok: false, problem: "These form fields must be text: techniques." });
  });

  it("reports every field's error at once", () => {
    const result = checkForm(aForm({ category: "x", techniques: "T0", recommendedActions: "\u0000", impacted: "x", impactedTyped: "1.1.1.1.1", evidenceTyped: "sh://" }));
    expect(result.ok).toBe(false);
    expect(Object.keys(!result.ok ? result.errors : {}).sort()).toEqual(["category", "evidenceTyped", "impacted", "impactedTyped", "recommendedActions", "techniques"]);
  });
});
