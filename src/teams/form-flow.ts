import { randomUUID } from "node:crypto";
import { DirectoryUnavailableError, StoreUnavailableError } from "../incidents/errors";
import type { Actor, EntryPoint, Incident } from "../incidents/model";
import type { DirectoryEntry } from "../incidents/ports";
import type { IncidentService } from "../incidents/service";
import { parseTags } from "../incidents/tags";
import { ASSIGN_TO_ME, isObjectId, type FieldErrors, type IncidentForm } from "../incidents/validation";
import type { Logger } from "../log";
import { incidentCreatedCard, incidentFormCard, type AdaptiveCard, type Choice } from "./cards";

/** How many recent tags a new form offers without typing. */
const TOP_TAGS = 10;

/** "Megan Bowen · meganb@contoso.com" or "SOC Tier 1 · group": a person can tell a group from a user. */
export function ownerLabel(entry: DirectoryEntry): string {
  if (entry.kind === "Group") return `${entry.displayName} · group`;
  const address = entry.email ?? entry.userPrincipalName;
  return address ? `${entry.displayName} · ${address}` : entry.displayName;
}

export function emptyForm(): IncidentForm {
  return {
    submissionId: randomUUID(),
    title: "",
    description: "",
    severity: "Medium",
    status: "New",
    closing: "",
    closingComment: "",
    owner: "",
    tags: "",
  };
}

export type SubmitOutcome =
  | { kind: "created"; incident: Incident; isNew: boolean; card: AdaptiveCard }
  | { kind: "form"; card: AdaptiveCard };

/**
 * The one path every entry point uses to show the form and to submit it. Each submission carries
 * the whole form, so any bot instance can answer any request.
 */
export class FormFlow {
  constructor(
    private readonly service: IncidentService,
    private readonly log: Logger,
  ) {}

  /** The form, prefilled with `form` (a new one when omitted), errors and banner next to the fields. */
  async formCard(actor: Actor, form: IncidentForm = emptyForm(), errors?: FieldErrors, banner?: string): Promise<AdaptiveCard> {
    const [ownerChoices, tagChoices] = await Promise.all([this.ownerChoices(actor, form.owner), this.tagChoices(form.tags)]);
    return incidentFormCard({ form, ...(errors && { errors }), ...(banner && { banner }), ownerChoices, tagChoices });
  }

  /** Validates and stores; on any problem the form comes back with everything typed kept. */
  async submit(form: IncidentForm, actor: Actor, entryPoint: EntryPoint): Promise<SubmitOutcome> {
    try {
      const result = await this.service.create(form, actor, entryPoint);
      if (result.kind === "invalid") {
        return { kind: "form", card: await this.formCard(actor, form, result.errors) };
      }
      this.log.info(
        { incidentId: result.incident.id, incidentNumber: result.incident.incidentNumber, isNew: result.isNew, entryPoint },
        result.isNew ? "incident created" : "repeated submission answered with the existing incident",
      );
      return {
        kind: "created",
        incident: result.incident,
        isNew: result.isNew,
        card: incidentCreatedCard(result.incident, { repeated: !result.isNew }),
      };
    } catch (error) {
      const banner = unavailableBanner(error);
      if (!banner) throw error;
      this.log.warn({ err: error }, "dependency unavailable during create; form returned with values kept");
      return { kind: "form", card: await this.formCard(actor, form, undefined, banner) };
    }
  }

  private async ownerChoices(actor: Actor, selected: string): Promise<Choice[]> {
    const me = await this.quietly(() => this.service.me(actor));
    const choices: Choice[] = [{ title: `Assign to me (${me?.displayName ?? actor.name})`, value: ASSIGN_TO_ME }];
    const id = selected.trim();
    if (id && id !== ASSIGN_TO_ME && isObjectId(id)) {
      // Shown again with the directory's name for it: never a name sent by the card.
      const entry = await this.quietly(() => this.service.owner(id));
      if (entry) choices.push({ title: ownerLabel(entry), value: id });
    }
    return choices;
  }

  private async tagChoices(selected: string): Promise<Choice[]> {
    const recent = (await this.quietly(() => this.service.topTags(TOP_TAGS))) ?? [];
    const chosen = parseTags(selected).tags ?? selected.split(",").map((t) => t.trim()).filter(Boolean);
    const all = [...chosen, ...recent.filter((t) => !chosen.some((c) => c.toLowerCase() === t.toLowerCase()))];
    return all.map((t) => ({ title: t, value: t }));
  }

  /** Decorations of the form must never keep it from being shown. */
  private async quietly<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.log.warn({ err: error }, "could not fill form choices; showing the form without them");
      return undefined;
    }
  }
}

/** Words for a person when a dependency is down; undefined for errors that are bugs. */
export function unavailableBanner(error: unknown): string | undefined {
  if (error instanceof StoreUnavailableError) {
    return "The incident store is not answering, so nothing was saved. Everything you typed is still here: try Create incident again in a moment.";
  }
  if (error instanceof DirectoryUnavailableError) {
    return "The directory is not answering, so the owner could not be checked and nothing was saved. Try again in a moment, or leave the owner empty.";
  }
  return undefined;
}
