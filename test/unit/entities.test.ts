import {
  checkEntity,
  defang,
  ENTITIES_MAX,
  ENTITY_VALUE_MAX_LENGTH,
  entitiesByType,
  entityKey,
  flagWords,
  indicatorValue,
  mergeEntities,
  parseTypedEntity,
  refang,
  refangMapped,
  type Entity,
  type EntityType,
} from "../../src/incidents/entities";

/* The domain core of entities (src/incidents/entities.ts): each type's rule at its boundary, case, refang, merge and cap. */

const ok = (type: EntityType, raw: string, identifier?: Parameters<typeof checkEntity>[4]) => {
  const r = checkEntity(type, raw, "related", "typed", identifier);
  if (!r.ok) throw new Error(`expected ${raw} to be a valid ${type}: ${r.error}`);
  return r.entity;
};
const error = (type: EntityType, raw: string, identifier?: Parameters<typeof checkEntity>[4]) => {
  const r = checkEntity(type, raw, "related", "typed", identifier);
  if (r.ok) throw new Error(`expected ${raw} to be refused as ${type}`);
  return r.error;
};

describe("refang: each rule", () => {
  it.each([
    ["hxxp://a.example", "http://a.example"],
    ["hxxps://a.example", "https://a.example"],
    ["HXXPS://a.example", "https://a.example"],
    ["h**ps://a.example", "https://a.example"],
    ["hxxps[:]//a.example", "https://a.example"],
    ["fxp://files.example", "ftp://files.example"],
    ["https[://]a.example", "https://a.example"],
    ["a[.]example", "a.example"],
    ["a(.)example", "a.example"],
    ["a{.}example", "a.example"],
    ["a[dot]example", "a.example"],
    ["a(dot)example", "a.example"],
    ["a(DOT)example", "a.example"],
    ["a dot example", "a.example"],
    ["x[@]a.example", "x@a.example"],
    ["x[at]a.example", "x@a.example"],
    ["x(at)a.example", "x@a.example"],
    ["x{at}a.example", "x@a.example"],
    ["2001:db8[:]:1", "2001:db8::1"],
  ])("%s -> %s", (defanged, plain) => {
    expect(refang(defanged)).toBe(plain);
  });

  it("leaves ordinary words alone (dotted, a hat, at in a word)", () => {
    expect(refang("what about that hat at the station")).toBe("what about that hat at the station");
  });

  it("keeps where each character came from, so a match shows as people wrote it", () => {
    const text = "go to hxxps://evil[.]example/x now";
    const mapped = refangMapped(text);
    expect(mapped.text).toBe("go to https://evil.example/x now");
    const start = mapped.text.indexOf("https");
    const end = mapped.text.indexOf(" now");
    expect(text.slice(mapped.origin(start), mapped.origin(end))).toBe("hxxps://evil[.]example/x");
    expect(mapped.origin(0)).toBe(0);
    expect(mapped.origin(mapped.text.length)).toBe(text.length);
  });

  it("defang is undone by refang for every type that has one", () => {
    const cases: [EntityType, string][] = [
      ["url", "https://evil.example/login"],
      ["domain", "evil.example.com"],
      ["email", "a@b.example.com"],
      ["ip", "203.0.113.7"],
      ["ip", "2001:db8::7"],
    ];
    for (const [type, value] of cases) {
      const shown = defang({ type, value });
      expect(shown).not.toBe(value);
      expect(refang(shown)).toBe(value);
    }
    expect(defang({ type: "url", value: "https://evil.example/login" })).toBe("hxxps://evil[.]example/login");
  });
});

describe("each type's rule at its boundary", () => {
  it("ip: dotted quads to 255, IPv6 compressed (RFC 5952), IPv4-mapped as IPv4; 256 and short forms refused", () => {
    expect(ok("ip", "255.255.255.255").value).toBe("255.255.255.255");
    expect(error("ip", "255.255.255.256")).toMatch(/not an IP address/);
    expect(error("ip", "10.1")).toMatch(/not an IP address/);
    expect(error("ip", "2130706433")).toMatch(/not an IP address/);
    expect(ok("ip", "2001:0DB8:0000:0000:0000:0000:0000:0001").value).toBe("2001:db8::1");
    expect(ok("ip", "[2001:db8::1]").value).toBe("2001:db8::1");
    expect(ok("ip", "::ffff:198.51.100.1").value).toBe("198.51.100.1");
    expect(error("ip", "2001:db8:::1")).toMatch(/not an IP address/);
  });

  it("ip flags: private (RFC 1918, loopback, link-local, CGNAT, ULA), reserved (documentation, multicast), none for public", () => {
    for (const v of ["10.0.0.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.0.1", "100.64.0.1", "fd00::1", "fe80::1"]) {
      expect([v, ok("ip", v).flags]).toEqual([v, ["private"]]);
    }
    for (const v of ["203.0.113.1", "224.0.0.1", "2001:db8::1", "0.0.0.0"])
      expect([v, ok("ip", v).flags]).toEqual([v, ["reserved"]]);
    expect(ok("ip", "8.8.8.8").flags).toBeUndefined();
    expect(ok("ip", "172.32.0.1").flags).toBeUndefined();
  });

  it("domain: lower case, trailing dot dropped, punycode kept; an unknown ending or an IP refused", () => {
    expect(ok("domain", "Evil.Example.COM.")).toMatchObject({ value: "evil.example.com", typed: "Evil.Example.COM." });
    expect(ok("domain", "bücher.de")).toMatchObject({ value: "xn--bcher-kva.de", flags: ["idn"] });
    expect(ok("domain", "xn--pypal-4ve.com").flags).toEqual(["idn", "mixed-script"]);
    expect(error("domain", "intranet.corp")).toMatch(/known ending/);
    // The special-use names (RFC 2606, 6761) are kept, marked reserved.
    expect(ok("domain", "intranet.local")).toMatchObject({ value: "intranet.local", flags: ["reserved"] });
    expect(ok("domain", "evil.example")).toMatchObject({ value: "evil.example", flags: ["reserved"] });
    expect(error("domain", "203.0.113.7")).toMatch(/known ending/);
  });

  it("url: http(s) and ftp kept with the host lower case and the path as sent; script schemes kept and flagged; others refused", () => {
    expect(ok("url", "HTTPS://Evil.Example/Login?A=B").value).toBe("https://evil.example/Login?A=B");
    expect(ok("url", "ftp://files.example.com/x").value).toBe("ftp://files.example.com/x");
    expect(ok("url", "javascript:alert(1)")).toMatchObject({ value: "javascript:alert(1)", flags: ["script"] });
    expect(ok("url", "data:text/html,hi").flags).toEqual(["script"]);
    expect(ok("url", "vbscript:msgbox(1)").flags).toEqual(["script"]);
    expect(error("url", "file:///etc/passwd")).toMatch(/scheme \(file:\)/);
    expect(error("url", "not a url")).toMatch(/not a web address/);
    expect(ok("url", "https://xn--pypal-4ve.com/").flags).toEqual(["idn", "mixed-script"]);
  });

  it("email and mailbox: the whole address lower case; a bad local part or domain refused", () => {
    expect(ok("email", "Service@PayPa1-Login.com")).toMatchObject({
      value: "service@paypa1-login.com",
      identifier: "emailAddress",
    });
    expect(ok("mailbox", "Alex@Contoso.com")).toMatchObject({ value: "alex@contoso.com", identifier: "mailboxPrimaryAddress" });
    expect(error("email", "@contoso.com")).toMatch(/not an email address/);
    expect(error("email", `${"a".repeat(65)}@contoso.com`)).toMatch(/not an email address/);
    expect(ok("email", `${"a".repeat(64)}@contoso.com`).value).toHaveLength(76);
    expect(error("email", "a b@contoso.com")).toMatch(/not an email address/);
    expect(error("email", "a@contoso.invalidtld")).toMatch(/not an email address/);
  });

  it("phone: international form only, E.164 kept, the written form as typed", () => {
    expect(ok("phone", "+44 20 7946 0958")).toMatchObject({ value: "+442079460958", typed: "+44 20 7946 0958" });
    expect(ok("phone", "0044 20 7946 0958").value).toBe("+442079460958");
    expect(error("phone", "020 7946 0958")).toMatch(/international form/);
    expect(error("phone", "+44 12")).toMatch(/not a phone number/);
  });

  it("file: 64 hex is SHA-256, 40 SHA-1, lower case; 63, 41, 32 (MD5) or non-hex refused; a named identifier must match", () => {
    const sha256 = "A".repeat(64);
    expect(ok("file", sha256)).toMatchObject({ identifier: "sha256", value: "a".repeat(64) });
    expect(ok("file", "b".repeat(40)).identifier).toBe("sha1");
    for (const bad of ["a".repeat(63), "a".repeat(41), "a".repeat(32), "g".repeat(64)])
      expect(error("file", bad)).toMatch(/hash|hexadecimal/);
    expect(error("file", "b".repeat(40), "sha256")).toMatch(/SHA1 hash, not SHA256/);
  });

  it("user: a UPN (lower case) or a directory object id; group: an object id only", () => {
    expect(ok("user", "Alex@Contoso.com")).toMatchObject({ identifier: "userPrincipalName", value: "alex@contoso.com" });
    expect(ok("user", "6F1C2D3E-0000-4000-8000-000000000020")).toMatchObject({
      identifier: "aadUserId",
      value: "6f1c2d3e-0000-4000-8000-000000000020",
    });
    expect(error("user", "Alex Wilber")).toMatch(/not a user/);
    expect(ok("group", "6F1C2D3E-0000-4000-8000-000000000020").identifier).toBe("objectGuid");
    expect(error("group", "SOC team")).toMatch(/object id/);
  });

  it("device: a name (lower case) or an id (40 hex or a GUID); app: an app id or a name", () => {
    expect(ok("device", "LAPTOP-7F3K")).toMatchObject({ identifier: "deviceName", value: "laptop-7f3k" });
    expect(ok("device", "c".repeat(40)).identifier).toBe("deviceId");
    expect(ok("device", "c".repeat(40), "deviceName").identifier).toBe("deviceName");
    expect(error("device", "-laptop")).toMatch(/not a device name/);
    expect(error("device", "a b")).toMatch(/not a device name/);
    expect(ok("app", "4A1B2C3D-0000-4000-8000-00000000D00C")).toMatchObject({
      identifier: "appId",
      value: "4a1b2c3d-0000-4000-8000-00000000d00c",
    });
    expect(ok("app", "Door controller")).toMatchObject({ identifier: "name", value: "Door controller" });
  });

  it("every type: empty, over 1,000 characters or with control characters refused", () => {
    const long = `https://a.example/${"x".repeat(ENTITY_VALUE_MAX_LENGTH)}`;
    expect(error("url", "   ")).toBe("Enter a value.");
    expect(error("url", long)).toMatch(/Defender takes at most 1000/);
    expect(ok("url", long.slice(0, ENTITY_VALUE_MAX_LENGTH)).value).toHaveLength(ENTITY_VALUE_MAX_LENGTH);
    expect(error("device", "laptop\n7")).toMatch(/control characters/);
  });
});

describe("parseTypedEntity and indicatorValue", () => {
  it.each([
    ["hxxps://evil[.]example/x", "url", "https://evil.example/x"],
    ["203.0.113[.]7", "ip", "203.0.113.7"],
    ["2001:db8::7", "ip", "2001:db8::7"],
    [
      "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
      "file",
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ],
    ["x[@]evil.example.com", "email", "x@evil.example.com"],
    ["+44 20 7946 0958", "phone", "+442079460958"],
    ["evil(dot)example(dot)com", "domain", "evil.example.com"],
    ["LAPTOP-7", "device", "laptop-7"],
    ["ip: 10.0.0.1", "ip", "10.0.0.1"],
  ])("%s is a %s", (typed, type, value) => {
    const r = parseTypedEntity(typed, "related", "typed");
    expect(r.ok && r.entity.type).toBe(type);
    if (value) expect(indicatorValue(typed)).toBe(value);
  });

  it("a value shaped like one type but breaking its rule gets that type's error", () => {
    const r = parseTypedEntity("10.0.0.300", "related", "typed");
    expect(r.ok ? "" : r.error).toMatch(/not an IP address/);
    expect(indicatorValue("not an indicator at all")).toBeUndefined();
  });
});

const url = (i: number, more: Partial<Entity> = {}): Entity => ({
  type: "url",
  identifier: "url",
  value: `https://h${i}.example/`,
  role: "related",
  source: "extracted",
  ...more,
});

describe("mergeEntities", () => {
  it("one entity per type, identifier and value: impacted wins, a person's word beats extraction, first spelling and both flags kept", () => {
    const a = url(1, { typed: "hxxps://h1[.]example/", flags: ["idn"] });
    const b = url(1, { role: "impacted", source: "typed", name: "x", flags: ["mixed-script"] });
    const merged = mergeEntities([a], [b]);
    expect(merged.entities).toEqual([{ ...a, role: "impacted", source: "typed", name: "x", flags: ["idn", "mixed-script"] }]);
    expect(merged.notKept).toBe(0);
    expect(entityKey(a)).toBe(entityKey(b));
    // Same value, other type: two entities.
    expect(mergeEntities([a], [{ ...a, type: "domain", identifier: "domainName" }]).entities).toHaveLength(2);
  });

  it(`keeps ${ENTITIES_MAX}: impacted, then typed, directory, extracted, then as they came; the rest counted on top of before`, () => {
    const extracted = Array.from({ length: 120 }, (_, i) => url(i));
    const typed = url(500, { source: "typed" });
    const directory = url(501, { source: "directory" });
    const impacted = url(502, { role: "impacted", source: "extracted" });
    const merged = mergeEntities(extracted, [typed, directory, impacted], 3);
    expect(merged.entities).toHaveLength(ENTITIES_MAX);
    expect(merged.notKept).toBe(3 + 123 - ENTITIES_MAX);
    for (const e of [typed, directory, impacted]) expect(merged.entities).toContainEqual(e);
    // The first 97 extracted, in their order (kept ones keep their place).
    expect(merged.entities.filter((e) => e.source === "extracted" && e.role === "related").map((e) => e.value)).toEqual(
      extracted.slice(0, 97).map((e) => e.value),
    );
  });

  it("groups by type, impacted first within a type", () => {
    const ip: Entity = { type: "ip", identifier: "address", value: "10.0.0.1", role: "related", source: "typed" };
    const groups = entitiesByType([url(1), ip, url(2, { role: "impacted" })]);
    expect(groups.map((g) => [g.type, g.entities.map((e) => e.value)])).toEqual([
      ["ip", ["10.0.0.1"]],
      ["url", ["https://h2.example/", "https://h1.example/"]],
    ]);
  });
});

describe("what a value's flags say", () => {
  it("a reserved IP is a range, a reserved domain a name; every flag in words", () => {
    expect(flagWords(ok("ip", "240.0.0.1"))).toEqual(["reserved range"]);
    expect(flagWords(ok("domain", "evil.example"))).toEqual(["reserved name (tests, examples)"]);
    expect(flagWords(ok("ip", "10.0.0.1"))).toEqual(["private range"]);
    expect(flagWords(ok("url", "javascript:alert(1)"))).toEqual(["script URL: do not open"]);
    expect(flagWords(ok("domain", "xn--pypal-4ve.com"))).toEqual(["international domain", "lookalike letters (mixed scripts)"]);
    expect(flagWords(ok("domain", "contoso.com"))).toEqual([]);
  });
});
