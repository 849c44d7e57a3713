import { technique, techniqueTitle } from "../incidents/attack";
import { entityTitle, evidenceId, evidenceOf } from "../incidents/form-entities";
import type { Actor, Incident } from "../incidents/model";
import type { IncidentService } from "../incidents/service";
import { parseTags } from "../incidents/tags";
import { ASSIGN_TO_ME, isObjectId, type IncidentForm } from "../incidents/validation";
import { ownerLabel, type Choice } from "./form-cards";

/** The analyst form's choices: what a ChoiceSet offers before anyone types, and what was chosen, named again. */

/** How many recent tags a new form offers without typing. */
const TOP_TAGS = 10;

/** Techniques a SOC names most for what people report, offered before anyone types (a choice set can't be empty). */
const COMMON_TECHNIQUES = ["T1566", "T1078", "T1110", "T1204", "T1486"];

const TECHNIQUE_TITLE_MAX = 50;

/** Asks, and on failure answers undefined: decorations of the form must never keep it from being shown. */
export type Quietly = <T>(work: () => Promise<T>) => Promise<T | undefined>;

export interface FormChoices {
  ownerChoices: Choice[];
  tagChoices: Choice[];
  techniqueChoices: Choice[];
  impactedChoices: Choice[];
  evidenceChoices: Choice[];
}

/** Every choice the form offers for `form`; `incident` when it edits one (its evidence is listed to untick). */
export async function formChoices(
  service: IncidentService,
  quietly: Quietly,
  actor: Actor,
  form: IncidentForm,
  withRecentTags: boolean,
  incident: Incident | undefined,
): Promise<FormChoices> {
  const [ownerChoices, tagChoices, impactedChoices] = await Promise.all([
    ownerChoicesOf(service, quietly, actor, form.owner),
    tagChoicesOf(service, quietly, form.tags, withRecentTags),
    impactedChoicesOf(service, quietly, actor, form.impacted ?? ""),
  ]);
  return {
    ownerChoices,
    tagChoices,
    techniqueChoices: techniqueChoices(form.techniques ?? ""),
    impactedChoices,
    evidenceChoices: evidenceOf(incident?.entities).map((e) => ({ title: entityTitle(e), value: evidenceId(e) })),
  };
}

function listOf(raw: string): string[] {
  return raw
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The chosen techniques with their ATT&CK names, then the common ones; an unknown id is offered as sent (its error says why). */
function techniqueChoices(selected: string): Choice[] {
  const chosen = listOf(selected).slice(0, 50);
  const ids = [...chosen, ...COMMON_TECHNIQUES.filter((id) => !chosen.some((c) => c.toUpperCase() === id))];
  return ids.map((id) => {
    const t = technique(id);
    return t ? { title: shortTitle(techniqueTitle(t)), value: t.id } : { title: id.slice(0, 40), value: id.slice(0, 40) };
  });
}

/** A technique's title as a chosen one shows it (the typeahead shows it whole): 20 of them must fit the card. */
function shortTitle(title: string): string {
  return title.length > TECHNIQUE_TITLE_MAX ? `${title.slice(0, TECHNIQUE_TITLE_MAX - 1)}…` : title;
}

async function ownerChoicesOf(service: IncidentService, quietly: Quietly, actor: Actor, selected: string): Promise<Choice[]> {
  const me = await quietly(() => service.me(actor));
  const choices: Choice[] = [{ title: `Assign to me (${me?.displayName ?? actor.name})`, value: ASSIGN_TO_ME }];
  const id = selected.trim();
  if (id && id !== ASSIGN_TO_ME && isObjectId(id)) {
    // Shown again with the directory's name for it: never a name sent by the card.
    const entry = await quietly(() => service.owner(id));
    if (entry) choices.push({ title: ownerLabel(entry), value: id });
  }
  return choices;
}

/**
 * The impacted people and groups chosen, named by the directory (never by the card), and the person
 * filling the form (a choice set can't be empty). A chosen id the directory does not name now (it is down,
 * or the person left) stays chosen under its id, so nothing chosen is lost; saving it says why it can't be.
 */
async function impactedChoicesOf(service: IncidentService, quietly: Quietly, actor: Actor, selected: string): Promise<Choice[]> {
  const ids = [...new Set(listOf(selected).map((id) => id.toLowerCase()))].filter(isObjectId).slice(0, 100);
  const withMe = actor.objectId && !ids.includes(actor.objectId.toLowerCase()) ? [...ids, actor.objectId.toLowerCase()] : ids;
  const entries = await Promise.all(withMe.map((id) => quietly(() => service.owner(id))));
  return entries.flatMap((entry, i) => {
    const id = withMe[i]!;
    if (entry) return [{ title: ownerLabel(entry), value: id }];
    return ids.includes(id) ? [{ title: `Not named by the directory now (${id})`, value: id }] : [];
  });
}

async function tagChoicesOf(
  service: IncidentService,
  quietly: Quietly,
  selected: string,
  withRecent: boolean,
): Promise<Choice[]> {
  const recent = withRecent ? ((await quietly(() => service.topTags(TOP_TAGS))) ?? []) : [];
  const chosen =
    parseTags(selected).tags ??
    selected
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
  const all = [...chosen, ...recent.filter((t) => !chosen.some((c) => c.toLowerCase() === t.toLowerCase()))];
  return all.map((t) => ({ title: t, value: t }));
}
