import type { AttributeValue, Attributes, SpanStatus } from "@opentelemetry/api";
import { exceptionAttributes, scrubSpan, scrubText, scrubUrl, type EndingSpan } from "../../src/telemetry";

/*
 * What telemetry may keep of a URL, a span and an error (src/telemetry.ts). The whole path, the bot sending to a local
 * ingestion endpoint, is test/security/telemetry.test.ts; these are the rules one by one.
 */

describe("scrubUrl", () => {
  it.each([
    // Graph's $search carries the name typed in the owner typeahead.
    [
      'https://graph.microsoft.com/v1.0/users?$search="displayName:Zephyrine Quill"&$select=id,displayName&$top=15',
      "https://graph.microsoft.com/v1.0/users?$search&$select&$top",
    ],
    ["https://graph.microsoft.com/v1.0/users/d15ea5e0-5678-4abc-9def-fedcba987654", "https://graph.microsoft.com/v1.0/users/:id"],
    ["https://graph.microsoft.com/v1.0/users/zquill%40contoso.com/checkMemberGroups", "https://graph.microsoft.com/v1.0/users/:id/checkMemberGroups"],
    // A 1:1 chat's id names a person's chat; activity ids too.
    [
      "https://smba.trafficmanager.net/emea/v3/conversations/a:1xYzPersonal/activities/1732611112222",
      "https://smba.trafficmanager.net/:id/v3/conversations/:id/activities/:id",
    ],
    [
      "https://management.azure.com/subscriptions/s1/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc/providers/Microsoft.SecurityInsights/incidents/6a0b/comments/c1?api-version=2025-09-01",
      "https://management.azure.com/subscriptions/:id/resourceGroups/:id/providers/Microsoft.OperationalInsights/workspaces/:id/providers/Microsoft.SecurityInsights/incidents/:id/comments/:id?api-version=2025-09-01",
    ],
    ["https://soc.documents.azure.com:443/dbs/soc-incident-bot/colls/incidents/docs/6a0b", "https://soc.documents.azure.com:443/dbs/:id/colls/incidents/docs/:id"],
    ["http://user:pass@127.0.0.1:8080/msi/token?resource=https://monitor.azure.com&client_id=x#frag", "http://127.0.0.1:8080/msi/token?resource&client_id"],
    ["/api/messages", "/api/messages"],
    ["/api/messages?who=alice", "/api/messages?who"],
    ["who=alice&x", "who&x"],
    ["/a%ZZ/b?%ZZ=1", "/:id/:id?:param"],
  ])("%s", (url, kept) => {
    expect(scrubUrl(url)).toBe(kept);
  });
});

describe("scrubText", () => {
  it("scrubs URLs inside text and replaces GUIDs and e-mail addresses", () => {
    expect(scrubText("GET https://graph.microsoft.com/v1.0/users/zq@contoso.com?$filter=x failed for d15ea5e0-5678-4abc-9def-fedcba987654")).toBe(
      "GET https://graph.microsoft.com/v1.0/users/:id?$filter failed for :id",
    );
    expect(scrubText("mail alice.smith@contoso.com now")).toBe("mail :email now");
    expect(scrubText("POST")).toBe("POST");
  });
});

describe("exceptionAttributes", () => {
  it("keeps the type and the stack frames, not the message", () => {
    const error = new TypeError("could not save 'Quorvex ledger' for Zephyrine Quillfeather");
    const kept = exceptionAttributes(error);
    expect(kept["exception.type"]).toBe("TypeError");
    expect(kept["exception.message"]).toBe("TypeError");
    expect(String(kept["exception.stacktrace"])).toMatch(/^TypeError\n\s+at /);
    expect(JSON.stringify(kept)).not.toMatch(/Quorvex|Zephyrine/);
  });
});

/** A span as the SDK hands it to a processor while it ends (setters write through). */
function endingSpan(name: string, attributes: Attributes, events: EndingSpan["events"], status: SpanStatus): EndingSpan {
  const span = {
    name,
    attributes: { ...attributes },
    events,
    status,
    setAttribute: (key: string, value: AttributeValue) => ((span.attributes as Record<string, AttributeValue>)[key] = value),
    updateName: (n: string) => (span.name = n),
    setStatus: (s: SpanStatus) => (span.status = s),
  };
  return span;
}

describe("scrubSpan", () => {
  it("scrubs the name, URL attributes, other strings, the status message and exception events", () => {
    const span = endingSpan(
      "GET /v1.0/users/zq@contoso.com",
      {
        "url.full": 'https://graph.microsoft.com/v1.0/users?$search="displayName:Zephyrine"',
        "http.target": "/v1.0/users/d15ea5e0-5678-4abc-9def-fedcba987654",
        "url.query": "$search=Zephyrine",
        "az.client_request_id": "d15ea5e0-5678-4abc-9def-fedcba987654",
        "http.status_code": 200,
        tags: ["zq@contoso.com", "x"],
      },
      [
        {
          name: "exception",
          attributes: { "exception.type": "Error", "exception.message": "Zephyrine not found", "exception.stacktrace": "Error: Zephyrine not found\n    at f (a.js:1:1)" },
        },
      ],
      { code: 2, message: "Zephyrine not found" },
    );
    scrubSpan(span);
    expect(span.name).toBe("GET /v1.0/users/:email");
    expect(span.attributes).toEqual({
      "url.full": "https://graph.microsoft.com/v1.0/users?$search",
      "http.target": "/v1.0/users/:id",
      "url.query": "$search",
      "az.client_request_id": ":id",
      "http.status_code": 200,
      tags: [":email", "x"],
    });
    expect(span.status).toEqual({ code: 2 });
    expect(span.events[0]!.attributes).toEqual({ "exception.type": "Error", "exception.message": "Error", "exception.stacktrace": "Error\n    at f (a.js:1:1)" });
  });
});
