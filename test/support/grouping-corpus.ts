/**
 * A corpus for the grouping rule (src/incidents/grouping.ts), written for the tests: three campaigns whose
 * copies are varied the way templates and reporters vary them, and unrelated reports, some of the same genre
 * (other password and mailbox lures) and some sharing common or own domains (microsoft.com, outlook.com,
 * contoso.com). Generated deterministically (no randomness): the same corpus on every run.
 */
import { checkEntity, type Entity, type EntityType } from "../../src/incidents/entities";

export interface CorpusReport {
  /** The campaign it belongs to ("A", "B", "C"), or "u<n>" for an unrelated report. */
  campaign: string;
  text: string;
  entities: Entity[];
}

export function entity(type: EntityType, raw: string): Entity {
  const checked = checkEntity(type, raw, "related", "extracted");
  if (!checked.ok) throw new Error(checked.error);
  return checked.entity;
}

const NAMES = ["Alice Martin", "Bob Chen", "Carla Jones", "Deepak Rao", "Eva Novak", "Farid Haddad", "Grace Kim", "Hugo Silva"];
const PREFACES = [
  "",
  "Got this just now, looks like phishing.",
  "Is this real? It asks for my password.",
  "Reporting a suspicious email I received this morning.",
  "FYI another one of these, please check.",
  "I clicked nothing. Forwarding it to you:",
];
const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!;

/** Campaign A: one password-expiry lure, templated greeting, name, deadline and signature; the same URL. */
export function campaignA(n: number): CorpusReport[] {
  const greetings = ["Dear {name},", "Hello {name},", "Hi {name},", "Good morning {name},", "{name},"];
  const when = ["today", "in 2 hours", "at midnight", "by the end of the day"];
  const signoff = ["IT Service Desk", "The Microsoft 365 Team", "Helpdesk Support", "Your IT Department"];
  return Array.from({ length: n }, (_, i) => {
    const name = pick(NAMES, i);
    const text = [
      pick(PREFACES, i * 7 + 1),
      pick(greetings, i).replace("{name}", name.split(" ")[0]!),
      `Your Microsoft 365 password will expire ${pick(when, i * 3)}. To keep using your mailbox without interruption,`,
      "confirm your current password at the link below. If you do not confirm within 24 hours your account will be",
      "suspended and all pending messages will be deleted.",
      "Confirm now: hxxps://m365-verify[.]top/login",
      `Thank you, ${pick(signoff, i * 5)}`,
    ].join("\n");
    return {
      campaign: "A",
      text,
      entities: [entity("url", "https://m365-verify.top/login"), entity("domain", "m365-verify.top")],
    };
  });
}

/** Campaign B: one document-signing lure, near-identical words, a different URL (and domain) per recipient. */
export function campaignB(n: number): CorpusReport[] {
  const companies = ["Northwind Traders", "Fabrikam Inc", "Tailspin Toys", "Wide World Importers"];
  return Array.from({ length: n }, (_, i) => {
    const host = `docs-sign-${i}.${i % 2 ? "xyz" : "click"}`;
    const text = [
      pick(PREFACES, i * 5 + 2),
      `You have received a document to review and sign: Invoice ${10_000 + i * 37} from ${pick(companies, i)}.`,
      `The document will expire in ${2 + (i % 5)} days. Please review the document at https://${host}/d/${i}x and sign`,
      "electronically. Do not share this email, it contains a secure link to your document. Questions about the",
      "document? Contact the sender directly. Powered by secure document services.",
    ].join("\n");
    return { campaign: "B", text, entities: [entity("url", `https://${host}/d/${i}x`), entity("domain", host)] };
  });
}

/** Campaign C: a Teams vishing message from an external tenant, the same call-back number, short and varied. */
export function campaignC(n: number): CorpusReport[] {
  const openers = [
    "Hi, this is {name} from IT support.",
    "Hello, {name} here from the help desk.",
    "{name} from IT security here.",
  ];
  return Array.from({ length: n }, (_, i) => ({
    campaign: "C",
    text: [
      pick(["", "A stranger messaged me in Teams:", "External Teams chat, says it is IT:"], i),
      pick(openers, i).replace("{name}", pick(NAMES, i + 3).split(" ")[0]!),
      "We detected unusual sign in activity on your account.",
      `Please call us on +44 20 7946 0958 ${pick(["as soon as possible", "within the hour", "right away"], i)} so we can secure it.`,
    ].join(" "),
    entities: [entity("phone", "+44 20 7946 0958"), entity("email", "helpdesk@it-support-7f.onmicrosoft.com")],
  }));
}

/** Unrelated reports: each its own incident. Some share a genre with the campaigns, some a common or own domain. */
export const UNRELATED: CorpusReport[] = [
  {
    text: "Someone followed me through the badge door at building 3 this morning without tapping their card. Tall, grey jacket, carrying a box.",
    entities: [],
  },
  {
    text:
      "Got this just now, looks like phishing. Microsoft account: unusual sign-in activity. We detected something unusual " +
      "about a recent sign-in to the Microsoft account. Review recent activity https://account.live.com/activity and if " +
      "it was not you, secure your account. See https://go.microsoft.com/fwlink/?LinkId=2169371 for more.",
    entities: [
      entity("url", "https://account.live.com/activity"),
      entity("url", "https://go.microsoft.com/fwlink/?LinkId=2169371"),
    ],
  },
  {
    text:
      "Is this real? It asks for my password. Your mailbox is full. You have exceeded your storage limit and will not " +
      "be able to send or receive new messages. To keep using your mailbox confirm your password at the link below to " +
      "increase your storage: https://mailbox-upgrade.net/quota Thank you, IT Service Desk",
    entities: [entity("url", "https://mailbox-upgrade.net/quota"), entity("domain", "mailbox-upgrade.net")],
  },
  {
    text:
      "Text message on my work phone: DHL your parcel could not be delivered, pay the customs fee of 2.99 at " +
      "hxxp://dhl-fees[.]top/pay within 24 hours or it will be returned to the sender.",
    entities: [entity("url", "http://dhl-fees.top/pay"), entity("domain", "dhl-fees.top")],
  },
  {
    text:
      "I got an email from jane.doe1984@outlook.com saying she is our CEO and asking me to buy gift cards for a client " +
      "today and send her the codes. She says she is in a meeting and cannot talk.",
    entities: [entity("email", "jane.doe1984@outlook.com")],
  },
  {
    text:
      "An unknown sender mark.s@outlook.com shared a OneDrive folder with me called Q3 bonuses. I did not open it. The " +
      "link goes to https://onedrive.live.com/redir?resid=ABC123 and it asks me to sign in.",
    entities: [entity("email", "mark.s@outlook.com"), entity("url", "https://onedrive.live.com/redir?resid=ABC123")],
  },
  {
    text:
      "Reporting a suspicious email I received this morning. The page https://intranet.contoso.com/hr/payroll asked me " +
      "to log in again twice and then showed an error. Not sure if it is broken or something worse.",
    entities: [entity("url", "https://intranet.contoso.com/hr/payroll"), entity("domain", "intranet.contoso.com")],
  },
  {
    text:
      "Received an email from hr@contoso.com about benefits enrolment with a link to https://benefits.contoso.com/enrol " +
      "but HR told me they did not send anything this week.",
    entities: [entity("email", "hr@contoso.com"), entity("url", "https://benefits.contoso.com/enrol")],
  },
  {
    text:
      "A stranger invited me to a Teams meeting called urgent payroll review: https://teams.microsoft.com/l/meetup-join/19abc " +
      "and then called me on Teams asking to share my screen.",
    entities: [entity("url", "https://teams.microsoft.com/l/meetup-join/19abc"), entity("domain", "teams.microsoft.com")],
  },
  {
    text:
      "FYI another one of these, please check. Someone posted a Teams meeting link https://teams.microsoft.com/l/meetup-join/77xyz " +
      "in the all company channel promising free laptops.",
    entities: [entity("url", "https://teams.microsoft.com/l/meetup-join/77xyz"), entity("domain", "microsoft.com")],
  },
  { text: "Found a USB stick labelled salaries 2026 in the car park near entrance B. I have not plugged it in.", entities: [] },
  {
    text:
      "My laptop shows a popup saying my files are encrypted and I must pay in bitcoin. The file invoice.pdf.exe was in " +
      "Downloads, hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.",
    entities: [entity("file", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")],
  },
  { text: "I lost my work phone on the train this morning, it has Teams and Outlook on it.", entities: [] },
  {
    text: "Someone pasted the admin password for the finance database in the general channel of our team, it is still there.",
    entities: [],
  },
  {
    text:
      "Got this just now, looks like phishing. Action required: your password expires in 3 days. Click below to keep " +
      "the same password, otherwise you will be asked to choose a new one at next sign in. Keep same password " +
      "https://keep-password.org/ Regards, IT Service Desk",
    entities: [entity("url", "https://keep-password.org/")],
  },
  {
    text: "I keep getting Authenticator approval prompts I did not request, about ten in the last hour, I denied them all.",
    entities: [],
  },
  {
    text:
      "Reporting a suspicious email I received this morning. You have a new voicemail (0:42) from an external caller. " +
      "Listen to voicemail https://vm-listen.xyz/play?id=5521 Microsoft 365 voicemail service.",
    entities: [entity("url", "https://vm-listen.xyz/play?id=5521")],
  },
  {
    text:
      "The CFO's assistant asked me by email to wire 48,000 EUR to a new supplier account today, the email came from " +
      "cfo-office@contoso-finance.top and the tone was strange.",
    entities: [entity("email", "cfo-office@contoso-finance.top")],
  },
  {
    text: "There is a poster with a QR code in the lift saying scan to get your parking permit renewed, I have never seen it before.",
    entities: [],
  },
  {
    text:
      "FYI another one of these, please check. Please update your direct deposit information before the next payroll " +
      "run at https://payroll-update.click/ or your salary may be delayed. Thank you, Payroll Team",
    entities: [entity("url", "https://payroll-update.click/")],
  },
  {
    text:
      "Hello, a caller said he was from the help desk and asked me to read out the code I got by text. I hung up. The " +
      "number was +1 202 555 0143.",
    entities: [entity("phone", "+1 202 555 0143")],
  },
].map((r, i) => ({ campaign: `u${i}`, ...r }));

/** The whole corpus: 24 copies of A, 24 of B, 12 of C, and the unrelated reports. */
export function corpus(): CorpusReport[] {
  return [...campaignA(24), ...campaignB(24), ...campaignC(12), ...UNRELATED];
}
