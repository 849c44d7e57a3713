import { indicatorValue, refang } from "../../src/incidents/entities";

/** The defanged scheme forms people paste into Find incident (src/incidents/entities.ts, refang). */
describe("refanging a defanged scheme", () => {
  it.each([
    ["hxxps://evil[.]example/login", "https://evil.example/login"],
    ["hxxps[://]evil[.]example/login", "https://evil.example/login"],
    ["hxxps[:]//evil[.]example/login", "https://evil.example/login"],
    ["hxxp[://]evil[.]example", "http://evil.example"],
    ["hXXps://evil[.]example/login", "https://evil.example/login"],
  ])("reads %p as %p", (typed, plain) => {
    expect(refang(typed)).toBe(plain);
  });

  it("finds the same indicator value for the [://] form as for the plain URL", () => {
    expect(indicatorValue("hxxps[://]EVIL[.]example/login")).toBe("https://evil.example/login");
  });
});
