import type { LocalDirectoryFile } from "../../src/adapters/local-directory";

export interface DataUser {
  id: string;
  displayName: string;
  mail: string | null;
  userPrincipalName: string;
}
export interface DataGroup {
  id: string;
  displayName: string;
  mail: string | null;
}
/** A small tenant: users, groups, and who is a (direct) member of which group. */
export interface DirectoryDataSet {
  users: DataUser[];
  groups: DataGroup[];
  /** group id -> ids of its direct members (users or groups). */
  members: Record<string, string[]>;
  /** The SOC analysts' group: its members, also through nested groups, are analysts. */
  analystGroupId: string;
  /** The restricted-cases team's group. */
  restrictedGroupId: string;
}

const u = (n: number) => `5a1e0000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const g = (n: number) => `9c0f0000-0000-4000-9000-${String(n).padStart(12, "0")}`;

/** Named ids, so tests read as people rather than GUIDs. */
export const ids = {
  megan: u(1),
  alex: u(2),
  adele: u(3),
  lee: u(4),
  ashley: u(5),
  roy: u(6),
  isaiah: u(7),
  socrates: u(8),
  diego: u(9),
  nestor: u(10),
  socTier1: g(1),
  socTier2: g(2),
  socAnalysts: g(3),
  physical: g(4),
  iam: g(5),
  /** A well-formed object id that nobody has. */
  nobody: u(999),
} as const;

/**
 * The data set both directories hold in the contract suite. Megan is an analyst directly, Alex
 * through SOC Tier 1 (nested in SOC Analysts); Lee is in SOC Tier 2, which is not.
 */
export const directoryData: DirectoryDataSet = {
  users: [
    { id: ids.megan, displayName: "Megan Bowen", mail: "meganb@contoso.com", userPrincipalName: "meganb@contoso.com" },
    { id: ids.alex, displayName: "Alex Wilber", mail: "alexw@contoso.com", userPrincipalName: "alexw@contoso.com" },
    { id: ids.adele, displayName: "Adele Vance", mail: "adelev@contoso.com", userPrincipalName: "adelev@contoso.com" },
    { id: ids.lee, displayName: "Lee Gu", mail: "leeg@contoso.com", userPrincipalName: "leeg@contoso.com" },
    { id: ids.ashley, displayName: "Ashley Leeds", mail: "ashleyl@contoso.com", userPrincipalName: "ashleyl@contoso.com" },
    { id: ids.roy, displayName: "Roy Jenkins", mail: "leeroy.jenkins@contoso.com", userPrincipalName: "rjenkins@contoso.com" },
    { id: ids.isaiah, displayName: "Isaiah Langer", mail: null, userPrincipalName: "isaiah@contoso.onmicrosoft.com" },
    { id: ids.socrates, displayName: "Socrates Papadopoulos", mail: "socrates.p@contoso.com", userPrincipalName: "socrates.p@contoso.com" },
    { id: ids.diego, displayName: "Diego Siciliani", mail: "diegos@contoso.com", userPrincipalName: "diegos@contoso.com" },
    { id: ids.nestor, displayName: "Nestor Wilke", mail: "nestorw@contoso.com", userPrincipalName: "nestorw@contoso.com" },
  ],
  groups: [
    { id: ids.socTier1, displayName: "SOC Tier 1", mail: "soc-tier1@contoso.com" },
    { id: ids.socTier2, displayName: "SOC Tier 2", mail: "soc-tier2@contoso.com" },
    { id: ids.socAnalysts, displayName: "SOC Analysts", mail: "soc-analysts@contoso.com" },
    { id: ids.physical, displayName: "Physical Security", mail: "physical-security@contoso.com" },
    { id: ids.iam, displayName: "Identity and Access Team", mail: null },
  ],
  members: {
    [ids.socAnalysts]: [ids.megan, ids.socTier1],
    [ids.socTier1]: [ids.alex],
    [ids.socTier2]: [ids.lee],
    [ids.physical]: [ids.diego, ids.nestor],
  },
  analystGroupId: ids.socAnalysts,
  // SOC Tier 1 handles restricted cases: Alex is on it, Megan (an analyst directly) is not.
  restrictedGroupId: ids.socTier1,
};

/** Ids of everything in `groupId`, directly or through nested groups. */
export function transitiveMembers(data: DirectoryDataSet, groupId: string): Set<string> {
  const found = new Set<string>();
  const walk = (id: string) => {
    for (const member of data.members[id] ?? []) {
      if (found.has(member)) continue;
      found.add(member);
      walk(member);
    }
  };
  walk(groupId);
  return found;
}

/** The same data set as the local directory's JSON file: analyst flags from group membership. */
export function asLocalDirectoryFile(data: DirectoryDataSet): LocalDirectoryFile {
  const analysts = transitiveMembers(data, data.analystGroupId);
  const restricted = transitiveMembers(data, data.restrictedGroupId);
  return {
    users: data.users.map((user) => ({
      id: user.id,
      displayName: user.displayName,
      ...(user.mail && { mail: user.mail }),
      userPrincipalName: user.userPrincipalName,
      analyst: analysts.has(user.id),
      restricted: restricted.has(user.id),
    })),
    groups: data.groups.map((group) => ({ id: group.id, displayName: group.displayName, ...(group.mail && { mail: group.mail }) })),
  };
}
