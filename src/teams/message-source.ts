import { createHash } from "node:crypto";
import { convert, type FormatCallback } from "html-to-text";
import { EXTRACT_LINKS_MAX } from "../incidents/extract";
import { z } from "zod";
import type { MessageEvidence } from "../incidents/model";
import { suggestTitle } from "../incidents/report";
import { DESCRIPTION_MAX_LENGTH } from "../incidents/validation";

/** The part of Teams' `messagePayload` we use (composeExtension/fetchTask and submitAction). */
export const messagePayload = z.object({
  id: z.string().min(1).max(200),
  createdDateTime: z.string().max(64).nullish(),
  linkToMessage: z.string().max(2000).nullish(),
  body: z.object({ contentType: z.string().max(20).nullish(), content: z.string().max(200_000).nullish() }).nullish(),
  from: z
    .object({
      user: z.object({ id: z.string().max(200).nullish(), displayName: z.string().max(300).nullish() }).nullish(),
      application: z.object({ id: z.string().max(200).nullish(), displayName: z.string().max(300).nullish() }).nullish(),
    })
    .nullish(),
});
export type MessagePayload = z.infer<typeof messagePayload>;

/** Evidence as our dialog carries it back in hidden data (used when Teams does not resend the message). */
export const evidenceData = z.object({
  kind: z.literal("teams-message"),
  messageId: z.string().min(1).max(200),
  link: z.string().max(2000).optional(),
  author: z.object({ kind: z.enum(["user", "application"]), id: z.string().max(200).optional(), name: z.string().max(300) }),
  sentUtc: z.string().max(64).optional(),
  bodySha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface SourceMessage {
  evidence: MessageEvidence;
  /** The body as plain text for the form (at most a description's length): links reduced to their text. */
  text: string;
  title: string;
  /** What extraction reads: the whole body as text, and every link's target (which may differ from its text). */
  indicators: MessageIndicators;
}

export interface MessageIndicators {
  text: string;
  /** At most EXTRACT_LINKS_MAX, in the order they appear. */
  links: string[];
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** How deep the conversion follows nested HTML; a person's message never comes near it. */
const HTML_MAX_DEPTH = 200;

/** Teams message HTML as plain text a person would read; nothing of it can run or link. */
export function messageText(html: string, contentType: string | null | undefined): string {
  return readBody(html, contentType).text;
}

/**
 * Teams message HTML as plain text a person would read (nothing of it can run or link), and the targets of
 * its links (<a href>), collected in the same pass: the text a link shows and where it goes may differ.
 */
export function readBody(html: string, contentType: string | null | undefined): MessageIndicators {
  const links: string[] = [];
  // The link's words, as html-to-text's inline formatting writes them; its target kept aside.
  const anchor: FormatCallback = (elem, walk, builder) => {
    const href = (elem as { attribs?: Record<string, string> }).attribs?.href;
    if (href && links.length < EXTRACT_LINKS_MAX) links.push(href.slice(0, 2000));
    walk(elem.children, builder);
  };
  const text =
    contentType === "text"
      ? html
      : convert(html, {
          wordwrap: false,
          // Any message can be reported: nesting past this (30,000 <div>s overflowed the stack) reads as "…".
          limits: { maxDepth: HTML_MAX_DEPTH, ellipsis: "…" },
          formatters: { anchor },
          selectors: [
            { selector: "a", format: "anchor" },
            { selector: "img", format: "skip" },
            { selector: "script", format: "skip" },
            { selector: "style", format: "skip" },
            { selector: "at", format: "inline" },
          ],
        });
  return {
    text: text
      .replace(CONTROL_CHARACTERS, "")
      .replace(/\n{3,}/g, "\n\n")
      .trim(),
    links,
  };
}

/** What a message tells us: its text, a title from its first line, and the evidence to record. */
export function readMessage(payload: MessagePayload): SourceMessage {
  const body = payload.body?.content ?? "";
  const indicators = readBody(body, payload.body?.contentType);
  const text = indicators.text.slice(0, DESCRIPTION_MAX_LENGTH);
  const user = payload.from?.user;
  const app = payload.from?.application;
  const author: MessageEvidence["author"] =
    app && !user
      ? { kind: "application", ...(app.id && { id: app.id }), name: app.displayName || "An app" }
      : { kind: "user", ...(user?.id && { id: user.id }), name: user?.displayName || "Someone" };
  const sent =
    payload.createdDateTime && !Number.isNaN(Date.parse(payload.createdDateTime))
      ? new Date(payload.createdDateTime).toISOString()
      : undefined;
  return {
    text,
    title: suggestTitle(text) || "Reported Teams message",
    indicators,
    evidence: {
      kind: "teams-message",
      messageId: payload.id,
      ...(payload.linkToMessage && /^https:\/\//.test(payload.linkToMessage) && { link: payload.linkToMessage }),
      author,
      ...(sent && { sentUtc: sent }),
      bodySha256: createHash("sha256").update(body, "utf8").digest("hex"),
    },
  };
}

/**
 * One incident per reported message: the incident id is derived from the workspace, the conversation
 * and the message, so reporting the same message again finds the incident it already made.
 */
export function messageIncidentId(workspaceId: string, conversationId: string, messageId: string): string {
  const thread = conversationId.split(";")[0] ?? conversationId;
  const h = createHash("sha256").update(`${workspaceId}\n${thread}\n${messageId}`).digest("hex");
  // Shaped as a UUID (version 8, "custom") so it passes as a submission id.
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
