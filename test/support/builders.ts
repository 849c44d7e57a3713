import { randomUUID } from "node:crypto";
import type { IncidentStore, NewIncident, TagTotal, TagWindow } from "../../src/incidents/ports";
import { totalsOf } from "../../src/incidents/tags";
import { PROVIDER_NAME } from "../../src/incidents/model";
import type { IncidentForm } from "../../src/incidents/validation";

/** A valid new incident as the service hands it to a store; override what the test is about. */
export function aNewIncident(overrides: Partial<NewIncident> = {}): NewIncident {
  const at = overrides.createdTimeUtc ?? "2026-11-20T10:00:00.000Z";
  return {
    id: randomUUID(),
    workspaceId: "ws-test",
    title: "Stranger tailgating at building 3",
    description: "Someone followed an employee through the badge door.",
    severity: "Medium",
    status: "New",
    labels: [],
    createdTimeUtc: at,
    lastModifiedTimeUtc: at,
    createdBy: { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber" },
    entryPoint: "form",
    providerName: PROVIDER_NAME,
    ...overrides,
  };
}

/** A form as the card submits it, valid unless overridden. */
export function aForm(overrides: Partial<IncidentForm> = {}): IncidentForm {
  return {
    submissionId: randomUUID(),
    title: "Phishing e-mail reported by finance",
    description: "",
    severity: "",
    status: "",
    closing: "",
    closingComment: "",
    owner: "",
    tags: "",
    restricted: "false",
    ...overrides,
  };
}

export function labels(...names: string[]): NewIncident["labels"] {
  return names.map((labelName) => ({ labelName, labelType: "User" as const }));
}

/** A store's tags of a window (a whole read, no cursor), summed per tag as the service sums them. */
export async function tagTotals(store: Pick<IncidentStore, "recentTags">, workspaceId: string, window: TagWindow): Promise<TagTotal[]> {
  return totalsOf((await store.recentTags(workspaceId, window.sinceDay)).tags, window);
}
