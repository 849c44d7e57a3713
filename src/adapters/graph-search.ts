/**
 * The `$search` value for `text` on the given properties, URL-encoded, ready for the query string:
 * `"displayName:al" OR "mail:al"`. Graph's rules: each clause in double quotes, `"` and `\` inside
 * escaped with a backslash, every other special character URL-encoded (so `&`, `#`, `+` survive).
 */
export function searchParameter(text: string, properties: readonly string[]): string {
  const escaped = text.replace(/[\\"]/g, (c) => `\\${c}`);
  return encodeURIComponent(properties.map((p) => `"${p}:${escaped}"`).join(" OR "));
}
