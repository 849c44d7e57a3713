import { createHmac, timingSafeEqual } from "node:crypto";
import type { Actor, MessageEvidence } from "../incidents/model";
import { personKey } from "../incidents/model";

/** Who a form is for: the person and the conversation it is shown in. */
export interface Requester {
  actor: Actor;
  conversationId: string;
  /** The form is shown where others read it (a channel, a group chat): it offers none of the SOC's recent tags. */
  shared?: boolean;
}

/** How often the secret may be read again from where it is kept, after a token failed to verify. */
const REFRESH_EVERY_MS = 10_000;

/**
 * Ids a client sends are checked, never trusted. Every form carries its submission id with a token
 * the server made for the person and the conversation it was shown to (HMAC-SHA256 with a server
 * secret), so nobody can send a form with someone else's id and reach their incident; a dialog's
 * message evidence, when it travels in the card's data, carries a token of its own.
 *
 * Not guaranteed: a token does not expire, and it names no particular message (see docs/security.md).
 */
export class SubmissionTokens {
  private lastRefresh = 0;

  constructor(
    private secret: Buffer,
    /** Reads the secret again (another instance may have created it first); absent: it never changes. */
    private readonly reload?: () => Promise<Buffer>,
  ) {}

  /** The token for a form with this submission id, shown to `who`. */
  submission(id: string, who: Requester): string {
    return this.mac("submission", id.toLowerCase(), bindingOf(who));
  }

  /** The token for evidence carried in a dialog's data, for the form with this submission id. */
  evidence(evidence: MessageEvidence, id: string): string {
    return this.mac("evidence", id.toLowerCase(), canonicalEvidence(evidence));
  }

  /** Whether `token` is the one this server made for `id` and `who`. */
  async verifySubmission(id: string, token: unknown, who: Requester): Promise<boolean> {
    return this.verify(token, () => this.submission(id, who));
  }

  async verifyEvidence(evidence: MessageEvidence, id: string, token: unknown): Promise<boolean> {
    return this.verify(token, () => this.evidence(evidence, id));
  }

  private async verify(token: unknown, expected: () => string): Promise<boolean> {
    if (typeof token !== "string" || token.length === 0 || token.length > 100) return false;
    if (same(token, expected())) return true;
    if (!this.reload || Date.now() - this.lastRefresh < REFRESH_EVERY_MS) return false;
    this.lastRefresh = Date.now();
    this.secret = await this.reload();
    return same(token, expected());
  }

  private mac(...parts: string[]): string {
    return createHmac("sha256", this.secret).update(parts.join("\n")).digest("base64url");
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The person (directory id, else Teams id) and the conversation (without Teams' `;messageid=` suffix). */
function bindingOf(who: Requester): string {
  const thread = who.conversationId.split(";")[0] ?? who.conversationId;
  return `${personKey(who.actor) ?? `name:${who.actor.name}`}\n${thread}`;
}

/** Evidence as text in a fixed order, so the same evidence always makes the same token. */
function canonicalEvidence(e: MessageEvidence): string {
  return JSON.stringify([
    e.kind,
    e.messageId,
    e.link ?? "",
    e.author.kind,
    e.author.id ?? "",
    e.author.name,
    e.sentUtc ?? "",
    e.bodySha256,
  ]);
}
