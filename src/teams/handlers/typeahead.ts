import type { InvokeResponse } from "botbuilder";
import { findTechniques, techniqueTitle } from "../../incidents/attack";
import { attachChoices } from "../attach-flow";
import { ownerLabel } from "../form-cards";
import { describeProblem, errorResponse, searchResponse, searchValue } from "../invoke";
import { whenDown } from "../outage";
import { searchLimitMessage } from "../rate-limit";
import type { Services, Turn } from "../turn";
import { DATASETS, type Dataset } from "../verbs";

/** "owners, tags, techniques and incidents": the datasets, as the answer to an unknown one names them. */
const DATASET_NAMES = Object.values(DATASETS)
  .join(", ")
  .replace(/, (?=[^,]*$)/, " and ");

/** Teams shows at most 15 typeahead results. */
const TYPEAHEAD_MAX = 15;

type Result = { title: string; value: string };

/** Every Data.Query dataset a card names and what answers it. */
export const DATASET_HANDLERS: Record<Dataset, (s: Services, typed: string, top: number, turn: Turn) => Promise<Result[]>> = {
  [DATASETS.owners]: async (s, typed, top) =>
    (await s.service.findOwners(typed, top)).map((e) => ({ title: ownerLabel(e), value: e.objectId })),
  [DATASETS.tags]: async (s, typed, top) => (await s.service.suggestTags(typed, top)).map((t) => ({ title: t, value: t })),
  // The shipped ATT&CK matrix: no store, no directory; analysts only all the same (their form's field).
  [DATASETS.techniques]: (_s, typed, top) =>
    Promise.resolve(findTechniques(typed.slice(0, 100), top).map((t) => ({ title: techniqueTitle(t), value: t.id }))),
  [DATASETS.incidents]: async (s, typed, top, turn) => attachChoices(s, typed, top, await turn.viewer()),
};

/**
 * `application/search`: typeahead for the analyst form's owner, tags and incident to attach to (analysts only). A
 * dependency that is down gives an empty list, never an error, so the form stays usable.
 */
export async function onTypeahead(s: Services, turn: Turn): Promise<InvokeResponse> {
  const parsed = searchValue.safeParse(turn.activity.value);
  if (!parsed.success) return errorResponse(400, "BadRequest", `This search can't be read: ${describeProblem(parsed.error)}.`);
  const wait = s.limits.searches.take(turn.rateKey);
  if (wait) return errorResponse(429, "TooManyRequests", searchLimitMessage(wait));
  const { dataset, queryText, queryOptions } = parsed.data;
  const unknown = () =>
    errorResponse(400, "BadRequest", `Unknown dataset "${dataset.slice(0, 60)}". This bot answers ${DATASET_NAMES}.`);
  if (!Object.hasOwn(DATASET_HANDLERS, dataset)) return unknown();
  const top = Math.min(queryOptions?.top ?? TYPEAHEAD_MAX, TYPEAHEAD_MAX);
  const answer = async () => {
    // Every dataset is the analysts' form's (the workspace's tags, the directory, ATT&CK, its incidents): an employee's or a
    // guest's form has none, so their search is a crafted request, answered as one for a dataset that does not exist.
    if ((await turn.role()) !== "analyst") return unknown();
    return searchResponse(await DATASET_HANDLERS[dataset as Dataset](s, queryText, top, turn));
  };
  // The directory down (who is asking can't be told) or the store: no results, which tell nobody anything.
  return whenDown(s.log, `${dataset} typeahead`, answer, () => searchResponse([]), "answered with no results");
}
