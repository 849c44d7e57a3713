import type { InvokeResponse } from "botbuilder";
import { z } from "zod";
import type { AdaptiveCard } from "./cards";

/** `adaptiveCard/action`: only Action.Execute carries a verb; its data holds the card's inputs. */
export const executeValue = z.object({
  action: z.object({
    type: z.literal("Action.Execute", { message: "action.type must be Action.Execute" }),
    verb: z.string({ message: "action.verb is missing" }).min(1, "action.verb is empty"),
    data: z.record(z.unknown()).optional(),
  }),
  trigger: z.string().optional(),
});

/** `application/search`: typeahead of a Data.Query dataset. Teams sends an empty queryText when the box is focused. */
export const searchValue = z.object({
  queryText: z.string().max(200, "queryText is longer than 200 characters").optional().default(""),
  dataset: z.string({ message: "dataset is missing" }),
  queryOptions: z
    .object({ skip: z.number().int().min(0).optional(), top: z.number().int().min(1).optional() })
    .partial()
    .optional(),
});

/** Says in one line what is wrong with an invoke value, for the error answer. */
export function describeProblem(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

export function cardResponse(card: AdaptiveCard): InvokeResponse {
  return { status: 200, body: { statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: card } };
}

/** The error shape of Universal Actions and of search invokes. */
export function errorResponse(status: 400 | 404 | 413 | 429 | 500 | 503, code: string, message: string): InvokeResponse {
  return { status, body: { statusCode: status, type: "application/vnd.microsoft.error", value: { code, message } } };
}

export function searchResponse(results: { title: string; value: string }[]): InvokeResponse {
  return {
    status: 200,
    body: { statusCode: 200, type: "application/vnd.microsoft.search.searchResponse", value: { results } },
  };
}
