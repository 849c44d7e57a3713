import { mirrorState } from "../incidents/mirror";
import type { Incident } from "../incidents/model";
import { wrappable } from "./cards";

/**
 * The incident's place in Microsoft Sentinel: its number and link once there, or why not yet; conflicts
 * for the triage card. The words say the state; `style` (the container style around them: warning while
 * a change keeps failing, attention once Sentinel refused) only repeats it, so the text stays
 * default-coloured and readable in every Teams theme.
 */
export function sentinelOf(
  incident: Incident,
  withConflicts: boolean,
): { text: string; style: string; url: string; conflicts: { line: string }[] } {
  const state = mirrorState(incident);
  const url = state.kind !== "off" && state.incidentUrl && /^https:\/\//i.test(state.incidentUrl) ? state.incidentUrl : "";
  const number = state.kind !== "off" && state.incidentNumber !== undefined ? `Incident ${state.incidentNumber}` : "";
  const lines = [...(incident.sentinel?.conflicts ?? []), ...(incident.sentinel?.unread ?? [])];
  const conflicts = withConflicts ? lines.map((line) => ({ line: wrappable(line) })) : [];
  switch (state.kind) {
    case "off":
      return { text: "", style: "default", url: "", conflicts: [] };
    case "synced":
      return {
        text: state.behind ? `${number || "In Sentinel"}; sending the latest change…` : number || "In Sentinel",
        style: "default",
        url,
        conflicts,
      };
    case "sending":
      return {
        text: wrappable(
          state.lastError
            ? `${number ? `${number}; the latest change is` : "Not"} in Sentinel yet: ${state.lastError} Trying again.`
            : number
              ? `${number}; sending the latest change…`
              : "Sending to Sentinel…",
        ),
        style: state.lastError ? "warning" : "default",
        url,
        conflicts,
      };
    case "rejected":
      return { text: wrappable(`Not in Sentinel: ${state.reason}`), style: "attention", url, conflicts };
  }
}
