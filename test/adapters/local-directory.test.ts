import { LocalDirectory } from "../../src/adapters/local-directory";
import { asLocalDirectoryFile } from "../support/directory-data";
import { describeDirectoryContract } from "./directory-contract";

describeDirectoryContract("LocalDirectory", (data) =>
  Promise.resolve({ directory: new LocalDirectory(asLocalDirectoryFile(data)), dispose: () => Promise.resolve() }),
);
