import { LocalDirectory } from "../../src/adapters/local-directory";
import { asLocalDirectoryFile } from "../support/directory-data";
import { describeDirectoryContract } from "./directory-contract";

describeDirectoryContract("LocalDirectory", (data) =>
  Promise.resolve({ directory: new LocalDirectory(asLocalDirectoryFile(data)), dispose: () => Promise.resolve() }),
);

describe("LocalDirectory without a restricted-cases team in the file", () => {
  it("treats the analysts as that team", async () => {
    const directory = new LocalDirectory({
      users: [
        { id: "5a1e0000-0000-4000-8000-000000000001", displayName: "Analyst", analyst: true },
        { id: "5a1e0000-0000-4000-8000-000000000002", displayName: "Employee" },
      ],
    });
    expect(await directory.isRestrictedTeam({ objectId: "5a1e0000-0000-4000-8000-000000000001", name: "Analyst" })).toBe(true);
    expect(await directory.isRestrictedTeam({ objectId: "5a1e0000-0000-4000-8000-000000000002", name: "Employee" })).toBe(false);
  });
});
