import type { Directory, DirectoryEntry } from "../../src/incidents/ports";
import { directoryData, ids, type DirectoryDataSet } from "../support/directory-data";

export interface DirectoryUnderTest {
  directory: Directory;
  /** Tears down whatever the factory started. */
  dispose(): Promise<void>;
}

/** The entry every directory must give for a user or group of the data set. */
function expected(data: DirectoryDataSet, id: string): DirectoryEntry {
  const user = data.users.find((u) => u.id === id);
  if (user) {
    return {
      objectId: user.id,
      kind: "User",
      displayName: user.displayName,
      ...(user.mail && { email: user.mail }),
      userPrincipalName: user.userPrincipalName,
    };
  }
  const group = data.groups.find((g) => g.id === id);
  if (!group) throw new Error(`${id} is not in the data set`);
  return { objectId: group.id, kind: "Group", displayName: group.displayName, ...(group.mail && { email: group.mail }) };
}

const names = (entries: DirectoryEntry[]) => entries.map((e) => e.displayName);

/**
 * What every Directory must do, written once and run against each implementation holding
 * `directoryData` (the local JSON directory, and Microsoft Graph as played by the fake).
 */
export function describeDirectoryContract(name: string, open: (data: DirectoryDataSet) => Promise<DirectoryUnderTest>): void {
  describe(`Directory contract: ${name}`, () => {
    let sut: DirectoryUnderTest;
    let directory: Directory;
    const data = directoryData;

    beforeEach(async () => {
      sut = await open(data);
      directory = sut.directory;
    });
    afterEach(async () => {
      await sut.dispose();
    });

    describe("search", () => {
      it("finds a user by first name, with mail and UPN", async () => {
        expect(await directory.search("megan", 15)).toEqual([expected(data, ids.megan)]);
      });

      it("finds a user by last name", async () => {
        expect(await directory.search("bowen", 15)).toEqual([expected(data, ids.megan)]);
      });

      it("finds a user by the start of their mail address", async () => {
        expect(await directory.search("meganb", 15)).toEqual([expected(data, ids.megan)]);
      });

      it("finds a user without mail by the start of their UPN, and gives no email for them", async () => {
        const found = await directory.search("isaiah@contoso.onmicro", 15);
        expect(found).toEqual([expected(data, ids.isaiah)]);
        expect(found[0]).not.toHaveProperty("email");
      });

      it("finds groups by a word of their name, labelled as groups and without a UPN", async () => {
        const found = await directory.search("tier", 15);
        expect(found).toEqual([expected(data, ids.socTier1), expected(data, ids.socTier2)]);
        for (const entry of found) expect(entry).not.toHaveProperty("userPrincipalName");
      });

      it("ignores case", async () => {
        expect(await directory.search("MEGAN", 15)).toEqual(await directory.search("megan", 15));
        expect(names(await directory.search("sOc tIeR", 15))).toEqual(["SOC Tier 1", "SOC Tier 2"]);
      });

      it("returns users and groups together, each labelled by its kind", async () => {
        const found = await directory.search("soc", 15);
        expect(found.map((e) => e.objectId).sort()).toEqual([ids.socAnalysts, ids.socTier1, ids.socTier2, ids.socrates].sort());
        for (const entry of found) expect(entry).toEqual(expected(data, entry.objectId));
        expect(new Set(found.map((e) => e.kind))).toEqual(new Set(["User", "Group"]));
      });

      it("ranks names starting with the query first, then a later word, then mail or UPN", async () => {
        // Lee Gu: the name starts with it; Ashley Leeds: a later word does; Roy Jenkins: only his mail (leeroy.jenkins@).
        expect(names(await directory.search("lee", 15))).toEqual(["Lee Gu", "Ashley Leeds", "Roy Jenkins"]);
      });

      it("returns at most `limit` entries, the best ranked", async () => {
        const all = await directory.search("s", 15);
        expect(all.length).toBeGreaterThan(3);
        const three = await directory.search("s", 3);
        expect(three).toHaveLength(3);
        expect(three).toEqual(all.slice(0, 3));
      });

      it("returns nothing for a blank query or when nothing matches", async () => {
        expect(await directory.search("   ", 15)).toEqual([]);
        expect(await directory.search("zzzz-nobody", 15)).toEqual([]);
      });
    });

    describe("get", () => {
      it("gets a user by object id", async () => {
        expect(await directory.get(ids.alex)).toEqual(expected(data, ids.alex));
      });

      it("gets a group by object id", async () => {
        expect(await directory.get(ids.physical)).toEqual(expected(data, ids.physical));
      });

      it("accepts an object id in upper case", async () => {
        expect(await directory.get(ids.megan.toUpperCase())).toEqual(expected(data, ids.megan));
      });

      it("gives undefined for an id nobody has, and for something that is not an id", async () => {
        expect(await directory.get(ids.nobody)).toBeUndefined();
        expect(await directory.get("not-an-object-id")).toBeUndefined();
        expect(await directory.get("../groups")).toBeUndefined();
      });
    });

    describe("isAnalyst", () => {
      it("is true for a direct member of the analysts' group", async () => {
        expect(await directory.isAnalyst({ objectId: ids.megan, name: "Megan Bowen" })).toBe(true);
      });

      it("is true for a member through a nested group", async () => {
        expect(await directory.isAnalyst({ objectId: ids.alex, name: "Alex Wilber" })).toBe(true);
      });

      it("is false for someone outside it, even in another group", async () => {
        expect(await directory.isAnalyst({ objectId: ids.adele, name: "Adele Vance" })).toBe(false);
        expect(await directory.isAnalyst({ objectId: ids.lee, name: "Lee Gu" })).toBe(false);
      });

      it("is false for someone unknown, or when Teams gave no object id", async () => {
        expect(await directory.isAnalyst({ objectId: ids.nobody, name: "Nobody" })).toBe(false);
        expect(await directory.isAnalyst({ name: "No id" })).toBe(false);
      });
    });

    describe("isRestrictedTeam", () => {
      it("is true for a member of the restricted-cases team, also through a nested group", async () => {
        expect(await directory.isRestrictedTeam({ objectId: ids.alex, name: "Alex Wilber" })).toBe(true);
      });

      it("is false for an analyst who is not on it, and for everyone else", async () => {
        expect(await directory.isRestrictedTeam({ objectId: ids.megan, name: "Megan Bowen" })).toBe(false);
        expect(await directory.isRestrictedTeam({ objectId: ids.adele, name: "Adele Vance" })).toBe(false);
        expect(await directory.isRestrictedTeam({ objectId: ids.nobody, name: "Nobody" })).toBe(false);
        expect(await directory.isRestrictedTeam({ name: "No id" })).toBe(false);
      });
    });
  });
}
