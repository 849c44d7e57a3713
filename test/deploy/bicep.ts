import fs from "node:fs";
import path from "node:path";

/**
 * Just enough of Bicep to read infra/azure.bicep's app settings without the Bicep CLI: comments and
 * strings are skipped the way Bicep lexes them ('...' with \' escapes and ${...} interpolation,
 * ''' multi-line ''' strings, // and block comments), brackets are matched, and `var`, `param`,
 * `resource`, `module`, `output` declarations are found at the top level only.
 */

export const ROOT = path.resolve(__dirname, "..", "..");
export const BICEP_FILE = path.join(ROOT, "infra", "azure.bicep");

/** The text with comments replaced by spaces (offsets kept), strings left in place. */
export function stripComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end === -1 ? text.length : end + 3;
      out += text.slice(i, stop);
      i = stop;
    } else if (text[i] === "'") {
      const stop = endOfString(text, i);
      out += text.slice(i, stop);
      i = stop;
    } else if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i);
      const stop = end === -1 ? text.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

/** Index just past the '...' string starting at `start` (interpolations may hold strings of their own). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\") i += 2;
    else if (ch === "'") return i + 1;
    else if (text.startsWith("${", i)) i = endOfBrackets(text, i + 1);
    else i++;
  }
  throw new Error(`unterminated string at ${start}`);
}

/** Index just past the bracket ({, [ or () at `open` and its match, skipping strings. */
export function endOfBrackets(text: string, open: number): number {
  const pairs: Record<string, string> = { "{": "}", "[": "]", "(": ")" };
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "'") {
      i = endOfString(text, i);
      continue;
    }
    if (pairs[ch]) stack.push(pairs[ch]);
    else if (ch === "}" || ch === "]" || ch === ")") {
      if (stack.pop() !== ch) throw new Error(`unbalanced ${ch} at ${i}`);
      if (stack.length === 0) return i + 1;
    }
    i++;
  }
  throw new Error(`unclosed bracket at ${open}`);
}

export interface Declaration {
  kind: "param" | "var" | "resource" | "module" | "output";
  name: string;
  /** From the declaration's first character to the next top-level declaration. */
  text: string;
  /** Decorators (@secure() ...) just above it. */
  decorators: string;
}

/** Top-level declarations, in order. */
export function declarations(source: string): Declaration[] {
  const text = stripComments(source);
  const found: { kind: Declaration["kind"]; name: string; at: number }[] = [];
  let depth = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'") {
      const stop = text.startsWith("'''", i) ? text.indexOf("'''", i + 3) + 3 : endOfString(text, i);
      i = stop - 1;
      lineStart = false;
      continue;
    }
    if (ch === "{" || ch === "[" || ch === "(") depth++;
    else if (ch === "}" || ch === "]" || ch === ")") depth--;
    if (ch === "\n") {
      lineStart = true;
      continue;
    }
    if (lineStart && depth === 0 && /\S/.test(ch)) {
      const match = /^(param|var|resource|module|output)\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i, i + 200));
      if (match) found.push({ kind: match[1] as Declaration["kind"], name: match[2]!, at: i });
    }
    if (/\S/.test(ch)) lineStart = false;
  }
  return found.map((d, n) => {
    const end = n + 1 < found.length ? found[n + 1]!.at : text.length;
    // The decorators of the next declaration sit at the end of this one's text: keep them with it.
    const raw = text.slice(d.at, end);
    const nextDecorators = /(\n\s*@[\s\S]*)$/.exec(raw.replace(/\s+$/, ""));
    const before = text.slice(0, d.at);
    const own = /((?:^|\n)\s*@[^\n]*(?:\n\s*@[^\n]*)*)\s*$/.exec(before);
    return {
      kind: d.kind,
      name: d.name,
      text: nextDecorators ? raw.slice(0, nextDecorators.index) : raw,
      decorators: own ? own[1]! : "",
    };
  });
}

export interface AppSetting {
  name: string;
  /** The value's Bicep expression, as written. */
  value: string;
  /** The var it is declared in. */
  from: string;
}

/** `{ name: '...', value: ... }` objects in an array expression, one per entry. */
function settingsIn(text: string, from: string): AppSetting[] {
  const settings: AppSetting[] = [];
  const entry = /\{\s*name:\s*'([^'$]*)'\s*,?\s*value:\s*/g;
  for (let match = entry.exec(text); match; match = entry.exec(text)) {
    const open = text.lastIndexOf("{", match.index + 1);
    const close = endOfBrackets(text, open);
    const value = text.slice(match.index + match[0].length, close - 1).trim();
    settings.push({ name: match[1]!, value, from });
  }
  return settings;
}

/**
 * The web app's app settings: `appSettings: concat(a, b, ...)` (or one var), each var an array of
 * `{ name: '...', value: ... }` (possibly behind a condition: `cond ? [ ... ] : []`).
 */
export function appSettings(source = fs.readFileSync(BICEP_FILE, "utf8")): AppSetting[] {
  const decls = declarations(source);
  const webApps = decls.filter((d) => d.kind === "resource" && /'Microsoft\.Web\/sites@/.test(d.text));
  if (webApps.length !== 1) throw new Error(`expected one Microsoft.Web/sites resource, found ${webApps.length}`);
  const site = webApps[0]!.text;
  const at = /\bappSettings:\s*/.exec(site);
  if (!at) throw new Error("the web app has no appSettings");
  const start = at.index + at[0].length;
  let names: string[];
  if (site.startsWith("concat(", start)) {
    const close = endOfBrackets(site, start + "concat".length);
    names = site
      .slice(start + "concat(".length, close - 1)
      .split(",")
      .map((n) => n.trim());
  } else {
    names = [/^[A-Za-z_][A-Za-z0-9_]*/.exec(site.slice(start))?.[0] ?? ""];
  }
  const settings: AppSetting[] = [];
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`appSettings takes "${name}": only vars are read, not expressions`);
    const declaration = decls.find((d) => d.kind === "var" && d.name === name);
    if (!declaration) throw new Error(`appSettings uses ${name}, which is not a var of ${BICEP_FILE}`);
    const found = settingsIn(declaration.text, name);
    if (found.length === 0) throw new Error(`var ${name} has no { name: '...', value: ... } entries`);
    settings.push(...found);
  }
  return settings;
}

/** A quoted literal's value ('production' -> production), or undefined for any other expression. */
export function literal(expression: string): string | undefined {
  const match = /^'([^'\\$]*)'$/.exec(expression.trim());
  return match ? match[1] : undefined;
}
