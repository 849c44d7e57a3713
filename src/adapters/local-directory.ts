import fs from "node:fs";
import { z } from "zod";
import type { Actor } from "../incidents/model";
import { foldOwnerQuery, rankOwners } from "../incidents/owners";
import type { Directory, DirectoryEntry } from "../incidents/ports";

const entrySchema = z.object({
  id: z.string().min(1),
  displayName: z.string().min(1),
  mail: z.string().optional(),
  userPrincipalName: z.string().optional(),
  analyst: z.boolean().optional(),
  /** On the SOC's restricted-cases team. When nobody is, the analysts are that team. */
  restricted: z.boolean().optional(),
});
const fileSchema = z.object({
  users: z.array(entrySchema).default([]),
  groups: z.array(entrySchema.omit({ analyst: true, restricted: true })).default([]),
});
export type LocalDirectoryFile = z.input<typeof fileSchema>;

interface Indexed {
  entry: DirectoryEntry;
  analyst: boolean;
  restricted: boolean;
}

/**
 * A directory read from a JSON file of users and groups (the embedded default and the tests).
 * Searches the way Microsoft Graph's `$search` does: a match is a word of the display name, or the
 * mail or UPN, starting with the query, case-insensitively. Read once at start; edits need a restart.
 */
export class LocalDirectory implements Directory {
  private readonly entries: Indexed[];
  private readonly byId: Map<string, Indexed>;
  /** Whether the file names a restricted-cases team at all. */
  private readonly anyRestricted: boolean;

  constructor(data: LocalDirectoryFile) {
    const parsed = fileSchema.parse(data);
    const index = (kind: DirectoryEntry["kind"], e: z.infer<typeof entrySchema>): Indexed => ({
      entry: {
        objectId: e.id.toLowerCase(),
        kind,
        displayName: e.displayName,
        ...(e.mail && { email: e.mail }),
        ...(e.userPrincipalName && { userPrincipalName: e.userPrincipalName }),
      },
      analyst: e.analyst === true,
      restricted: e.restricted === true,
    });
    this.entries = [...parsed.users.map((u) => index("User", u)), ...parsed.groups.map((g) => index("Group", g))];
    this.byId = new Map(this.entries.map((e) => [e.entry.objectId, e]));
    this.anyRestricted = this.entries.some((e) => e.restricted);
  }

  /** Reads and checks the file; a clear error names the file and what is wrong in it. */
  static fromFile(file: string): LocalDirectory {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw new Error(`Can't read the local directory file ${file}: ${(error as Error).message}`, { cause: error });
    }
    const result = fileSchema.safeParse(raw);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      throw new Error(`The local directory file ${file} is not valid: ${problems}`);
    }
    return new LocalDirectory(result.data);
  }

  search(query: string, limit: number): Promise<DirectoryEntry[]> {
    const q = foldOwnerQuery(query);
    if (!q) return Promise.resolve([]);
    return Promise.resolve(
      rankOwners(
        this.entries.map((e) => e.entry),
        q,
        limit,
        "drop",
      ),
    );
  }

  get(objectId: string): Promise<DirectoryEntry | undefined> {
    return Promise.resolve(this.byId.get(objectId.toLowerCase())?.entry);
  }

  isAnalyst(actor: Actor): Promise<boolean> {
    return Promise.resolve(this.find(actor)?.analyst === true);
  }

  isRestrictedTeam(actor: Actor): Promise<boolean> {
    const person = this.find(actor);
    return Promise.resolve(this.anyRestricted ? person?.restricted === true : person?.analyst === true);
  }

  private find(actor: Actor): Indexed | undefined {
    return actor.objectId ? this.byId.get(actor.objectId.toLowerCase()) : undefined;
  }
}
