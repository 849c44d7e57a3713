/** The checks of test/cards/teams-rules.ts catch what they claim to, on cards made wrong on purpose. */
import { CARD_BUDGET_BYTES, cardMarks, rendererProblems, teamsProblems, templateMarks, templateTypes, utf16Bytes } from "./teams-rules";

const good = {
  type: "AdaptiveCard",
  version: "1.5",
  body: [
    { type: "TextBlock", text: "Hello", wrap: true },
    { type: "Input.Text", id: "title", label: "Title" },
    { type: "RichTextBlock", inlines: [{ type: "TextRun", text: "x" }] },
  ],
  actions: [
    {
      type: "Action.Execute",
      title: "Go",
      verb: "go",
      fallback: { type: "Action.Submit", title: "Go", data: { verb: "go" } },
    },
  ],
};

describe("the official renderer's validation", () => {
  it("finds nothing wrong in a good card", () => {
    expect(rendererProblems(good)).toEqual([]);
  });

  it("reports a type it does not know, a duplicate input id and a version above 1.5", () => {
    const problems = rendererProblems({
      ...good,
      version: "1.6",
      body: [...good.body, { type: "Fancy.Widget" }, { type: "Input.Text", id: "title", label: "Again" }],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^UnknownElementType: .*Fancy\.Widget/),
        expect.stringMatching(/^DuplicateId: .*title/),
        expect.stringMatching(/^UnsupportedCardVersion: .*1\.6/),
      ]),
    );
  });

  it("reports an empty choice set, which Teams would show with nothing to choose", () => {
    const problems = rendererProblems({ ...good, body: [{ type: "Input.ChoiceSet", id: "c", label: "C", choices: [] }] });
    expect(problems).toEqual(["CollectionCantBeEmpty: An Input.ChoiceSet must have at least one choice defined."]);
  });
});

describe("what Teams renders", () => {
  it("finds nothing wrong in a good card", () => {
    expect(teamsProblems(good)).toEqual([]);
  });

  it("reports types Teams does not render in 1.5, a wrong version, leftover template properties and unlabelled inputs", () => {
    const problems = teamsProblems({
      ...good,
      version: "1.6",
      body: [
        { type: "Media", sources: [] },
        { type: "Container", items: [{ type: "Icon", name: "Alert" }, { $when: "${x}", type: "TextBlock", text: "${x}" }] },
        { type: "Input.Toggle", id: "t" },
        { type: "Input.Toggle", id: "named", title: "Named by its title" },
        { type: "RichTextBlock", inlines: [{ type: "TextBlock", text: "not an inline" }] },
      ],
      actions: [{ type: "Action.Http", title: "Call", method: "POST", url: "https://example.com" }, { type: "Action.Execute", title: "No verb" }],
    });
    expect(problems).toEqual([
      "$.version is 1.6, not 1.5",
      "$.body[0]: Media is not something Teams renders in a 1.5 card here",
      "$.body[1].items[0]: Icon is not something Teams renders in a 1.5 card here",
      "$.body[1].items[1].$when: template property left in the card",
      '$.body[2]: Input.Toggle "t" has no label',
      "$.body[4].inlines[0]: TextBlock is not something Teams renders in a 1.5 card here",
      "$.actions[0]: Action.Http is not something Teams renders in a 1.5 card here",
      "$.actions[1]: Action.Execute without a verb",
      "$.actions[1]: Action.Execute without an Action.Submit fallback for older clients",
    ]);
  });

  it("lists every type a template mentions, also inside $when branches", () => {
    const types = templateTypes({
      type: "AdaptiveCard",
      body: [{ $when: "${a}", type: "Carousel", pages: [] }, { type: "Input.ChoiceSet", "choices.data": { type: "Data.Query", dataset: "x" } }],
    });
    expect(types).toEqual([
      { path: "$.body[0]", type: "Carousel", allowed: false },
      { path: "$.body[1]", type: "Input.ChoiceSet", allowed: true },
      { path: "$.body[1].choices.data", type: "Data.Query", allowed: true },
    ]);
  });
});

describe("the size Teams counts", () => {
  it("is two bytes per UTF-16 code unit of the JSON, escapes included", () => {
    expect(utf16Bytes({ a: "é" })).toBe('{"a":"é"}'.length * 2);
    expect(utf16Bytes({ a: '"' })).toBe('{"a":"\\""}'.length * 2);
    expect(utf16Bytes({ a: "😀" })).toBe(2 * (8 + 2));
    expect(CARD_BUDGET_BYTES).toBe(40_960);
  });
});

describe("the marks of a template", () => {
  it("are its literal ids, texts, labels and titles outside $when and $data branches, and a card made from it has them", () => {
    const template = {
      type: "AdaptiveCard",
      body: [
        { type: "TextBlock", text: "Always here" },
        { type: "TextBlock", text: "${heading}" },
        { $when: "${x}", type: "TextBlock", text: "Sometimes here" },
        { type: "Input.Text", id: "title", label: "Title" },
        { type: "Input.ChoiceSet", id: "c", label: "C", choices: [{ $data: "${items}", title: "${t}", value: "${v}" }] },
      ],
    };
    expect(templateMarks(template)).toEqual(["text=Always here", "id=title", "label=Title", "id=c", "label=C"]);
    const card = { type: "AdaptiveCard", body: [{ type: "TextBlock", text: "Always here" }, { type: "Input.Text", id: "title", label: "Title" }] };
    expect([...cardMarks(card)]).toEqual(["text=Always here", "id=title", "label=Title"]);
  });
});
