import { Template } from "adaptivecards-templating";

/**
 * A card template compiled once into functions that fill in values, so a card is built without walking
 * the template and evaluating its expressions through adaptive-expressions on every request.
 * It covers what cards/ uses: `${path}`, text with `${path}` in it, `==`, `!=`, `>`, `<`, `>=`, `<=`,
 * `&&`, `count(...)`, `$when` and `$data`, read by adaptivecards-templating's own parser
 * (Template.parseInterpolatedString); a template with anything else is expanded by the library.
 * Whenever a value's result is not certain (a missing or null path, a `$when` that is not a boolean, text
 * of an object, a comparison of mixed types), that expansion is handed to the library, so the result is
 * always the library's. test/cards/card-template.test.ts compares the two.
 */
export class CompiledTemplate {
  private readonly library: Template;
  private readonly fill: Fill | undefined;

  constructor(payload: unknown) {
    this.library = new Template(payload);
    this.fill = compileOrUndefined(payload);
  }

  /** Whether the template compiled (false: every expansion is the library's). */
  get compiled(): boolean {
    return this.fill !== undefined;
  }

  /** The same as the library's `new Template(payload).expand({ $root: root })`. */
  expand(root: object): unknown {
    const compiled = this.expandCompiled(root);
    return compiled ? compiled.card : this.library.expand({ $root: root });
  }

  /** The compiled expansion, or undefined where the library must decide (or the template did not compile). */
  expandCompiled(root: object): { card: unknown } | undefined {
    if (!this.fill) return undefined;
    try {
      return { card: this.fill({ root, data: root, index: undefined }) };
    } catch (error) {
      if (error !== LIBRARY) throw error;
      return undefined;
    }
  }

  /** The library's expansion, always (for comparison). */
  expandWithLibrary(root: object): unknown {
    return this.library.expand({ $root: root });
  }
}

/** `$data` is the current item (the root outside any list); `$index` its position in the list. */
interface Scope {
  root: unknown;
  data: unknown;
  index: number | undefined;
}

type Fill = (scope: Scope) => unknown;

/** Thrown inside a fill when only the library can say what the result is: one instance, made once. */
class HandOver extends Error {}
const LIBRARY = new HandOver("expand with the library");

class NotCompilable extends Error {}

/** Keys the library never copies into the card. */
const RESERVED = new Set(["$data", "$when", "$root", "$index", "$host", "$_acTemplateVersion"]);

/** The parts of an adaptive-expressions Expression read here (duck-typed: the package is the library's). */
interface Expr {
  type: string;
  children: Expr[];
  value?: unknown;
}

function compileOrUndefined(payload: unknown): Fill | undefined {
  try {
    return compileNode(payload);
  } catch (error) {
    if (error instanceof NotCompilable) return undefined;
    throw error;
  }
}

function compileNode(node: unknown): Fill {
  if (typeof node === "string") {
    const parsed = Template.parseInterpolatedString(node) as unknown;
    if (typeof parsed === "string") return () => parsed;
    return compileValueExpression(parsed as Expr);
  }
  if (Array.isArray(node)) return compileArray(node.map(compileNode));
  if (typeof node === "object" && node !== null) return compileObject(node as Record<string, unknown>);
  return () => node;
}

/** Items expand in order; null (an element dropped by `$when` or an empty `$data`) is left out, a list is spread. */
function compileArray(items: Fill[]): Fill {
  return (scope) => {
    const out: unknown[] = [];
    for (const item of items) {
      const value = item(scope);
      if (value === null) continue;
      if (Array.isArray(value)) for (const v of value) out.push(v);
      else out.push(value);
    }
    return out;
  };
}

function compileObject(node: Record<string, unknown>): Fill {
  const fields: [string, Fill][] = [];
  for (const key of Object.keys(node)) if (!RESERVED.has(key)) fields.push([key, compileNode(node[key])]);
  const build = (scope: Scope) => {
    const out: Record<string, unknown> = {};
    for (const [key, fill] of fields) {
      const value = fill(scope);
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
  const when = node.$when === undefined ? undefined : compileCondition(node.$when);
  const data = node.$data === undefined ? undefined : compileData(node.$data);
  const once = (scope: Scope): Record<string, unknown> | null => {
    if (when) {
      const ok = when(scope);
      if (typeof ok !== "boolean") throw LIBRARY;
      if (!ok) return null;
    }
    return build(scope);
  };
  if (!data) return once;
  return (scope) => {
    const value = data(scope);
    const results: Record<string, unknown>[] = [];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        // The library keeps the previous item as $data for a missing one.
        if (item === undefined) throw LIBRARY;
        const result = once({ root: scope.root, data: item, index: i });
        if (result !== null) results.push(result);
      }
    } else {
      const result = once({ root: scope.root, data: value, index: scope.index });
      if (result !== null) results.push(result);
    }
    return results.length === 0 ? null : results.length === 1 ? results[0] : results;
  };
}

function expressionOf(text: unknown): Expr {
  if (typeof text !== "string") throw new NotCompilable("$when and $data must be expressions");
  const parsed = Template.parseInterpolatedString(text) as unknown;
  if (typeof parsed === "string" || (parsed as Expr).type === "concat") throw new NotCompilable(`not one expression: ${text}`);
  return parsed as Expr;
}

function compileCondition(text: unknown): Fill {
  return compileExpression(expressionOf(text));
}

function compileData(text: unknown): Fill {
  return compileExpression(expressionOf(text));
}

/** A template string holding expressions: its value (one expression), or its text (several, or with text around). */
function compileValueExpression(expr: Expr): Fill {
  if (expr.type !== "concat") return compileExpression(expr);
  const parts = expr.children.map((child): Fill | string => {
    if (child.type === "Constant") {
      if (typeof child.value !== "string") throw new NotCompilable("a non-text constant in text");
      return child.value;
    }
    return compileExpression(child);
  });
  return (scope) => {
    let text = "";
    for (const part of parts) {
      if (typeof part === "string") text += part;
      else {
        const value = part(scope);
        if (typeof value === "string") text += value;
        else if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean") text += String(value);
        else throw LIBRARY;
      }
    }
    return text;
  };
}

function compileExpression(expr: Expr): Fill {
  switch (expr.type) {
    case "Constant": {
      const value = expr.value;
      if (typeof value !== "string" && typeof value !== "boolean" && !(typeof value === "number" && Number.isFinite(value))) {
        throw new NotCompilable("an unexpected constant");
      }
      return () => value;
    }
    case "Accessor":
      return compilePath(pathOf(expr));
    case "count": {
      if (expr.children.length !== 1) throw new NotCompilable("count takes one argument");
      const of = compileExpression(expr.children[0]!);
      return (scope) => {
        const value = of(scope);
        if (typeof value === "string" || Array.isArray(value)) return value.length;
        throw LIBRARY;
      };
    }
    case "&&": {
      const children = expr.children.map(compileExpression);
      return (scope) => {
        for (const child of children) {
          const value = child(scope);
          if (typeof value !== "boolean") throw LIBRARY;
          if (!value) return false;
        }
        return true;
      };
    }
    case "==":
    case "!=":
    case ">":
    case "<":
    case ">=":
    case "<=":
      return compileComparison(expr);
    default:
      throw new NotCompilable(`unsupported expression ${expr.type}`);
  }
}

/** Text with text, or whole numbers with whole numbers; anything else is the library's to compare. */
function compileComparison(expr: Expr): Fill {
  if (expr.children.length !== 2) throw new NotCompilable("a comparison takes two operands");
  const left = compileExpression(expr.children[0]!);
  const right = compileExpression(expr.children[1]!);
  const compare = COMPARE[expr.type]!;
  return (scope) => {
    const a = left(scope);
    const b = right(scope);
    if ((typeof a === "string" && typeof b === "string") || (Number.isSafeInteger(a) && Number.isSafeInteger(b))) {
      return compare(a as string | number, b as string | number);
    }
    throw LIBRARY;
  };
}

const COMPARE: Record<string, (a: string | number, b: string | number) => boolean> = {
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  ">": (a, b) => a > b,
  "<": (a, b) => a < b,
  ">=": (a, b) => a >= b,
  "<=": (a, b) => a <= b,
};

/** `a.b.c` from nested Accessors, as adaptive-expressions accumulates it. */
function pathOf(expr: Expr): string[] {
  const [name, instance] = expr.children;
  if (!name || name.type !== "Constant" || typeof name.value !== "string" || expr.children.length > 2) {
    throw new NotCompilable("an accessor without a plain name");
  }
  if (/[.[\]'"]/.test(name.value) || !Number.isNaN(parseInt(name.value, 10)))
    throw new NotCompilable(`a name read as a path: ${name.value}`);
  if (!instance) return [name.value];
  if (instance.type !== "Accessor") throw new NotCompilable("an accessor on a computed value");
  return [...pathOf(instance), name.value];
}

/** As the library reads a path: plain names from `$data`; `$root`, `$data`, `$index` the scope's; own
 * properties only (missing, null, or a step into a non-plain object: the library's to substitute). */
function compilePath(path: string[]): Fill {
  const first = path[0]!;
  let start: (scope: Scope) => unknown;
  let rest: string[];
  if (!first.startsWith("$")) {
    start = (scope) => scope.data;
    rest = path;
  } else if (first === "$data") {
    start = (scope) => scope.data;
    rest = path.slice(1);
  } else if (first === "$root") {
    start = (scope) => scope.root;
    rest = path.slice(1);
  } else if (first === "$index") {
    start = (scope) => scope.index;
    rest = path.slice(1);
  } else throw new NotCompilable(`an unsupported scope: ${first}`);
  return (scope) => {
    let value = start(scope);
    for (const name of rest) {
      if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Map) throw LIBRARY;
      value = Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
    }
    if (value === undefined || value === null) throw LIBRARY;
    return value;
  };
}
