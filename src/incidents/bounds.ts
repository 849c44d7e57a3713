import { Buffer } from "node:buffer";
import type { Incident } from "./model";

/**
 * How large one incident's document may grow. Cosmos DB refuses an item over 2 MB (the bytes of its
 * UTF-8 JSON) with 413; the bot keeps well under it, and says so in words when something does not fit.
 *
 * - Later reports of the same message: at most REPORTS_KEPT_MAX are kept in the document. A title
 *   (256 characters) and what happened (5,000) are at most ~16 KB of UTF-8 (3 bytes a character),
 *   ~17 KB with the evidence and the reporter's address, so the reports take at most ~430 KB. A
 *   report after that is counted (`reportsNotKept`) and its reporter told so, nothing else written.
 *   Issue 27 moves reports out of the document: lifting this is changing this one number.
 * - Additions (a report, comment, question, answer, task) are refused once the document would pass
 *   GROWTH_BYTES_MAX; the room above it is for edits and the notices they write to reporters (a
 *   shared comment's notices are counted with it), and the store's own fields.
 * - Any write over WRITE_BYTES_MAX is refused before the store sees it (IncidentTooLargeError),
 *   as a store's own "too large" is: both are answered in words, never with a 500.
 */
export const REPORTS_KEPT_MAX = 25;
/** Cosmos DB's largest item, in bytes. */
export const STORE_ITEM_BYTES_MAX = 2 * 1024 * 1024;
export const GROWTH_BYTES_MAX = 1_250_000;
export const WRITE_BYTES_MAX = 1_900_000;

/** The bytes of the incident as a store writes it (UTF-8 JSON), without the store's own fields. */
export function documentBytes(incident: Incident): number {
  return Buffer.byteLength(JSON.stringify(incident), "utf8");
}

/** What a person reads when an addition does not fit. */
export const FULL_WORDS =
  "holds as much as one incident can, so this was not added. Ask a SOC analyst to record it another way " +
  "(in Microsoft Sentinel, or on a new incident that refers to this one).";

/** What a reporter reads when their report of an already reported message was counted, not kept. */
export const COUNTED_WORDS =
  "The SOC already has many reports of this message, so yours was counted but not kept as a report of its own. " +
  "Thank you: the SOC is looking at it. If you know something the others may not, tell the SOC in a new report.";
