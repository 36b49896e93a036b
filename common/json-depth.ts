/**
 * How deeply a JSON text nests, found without parsing it and without recursion: one linear scan
 * that counts `[` and `{` outside strings. It runs before JSON.parse, so a body of 100,000 nested
 * arrays is refused as a client error instead of reaching code (a parser, JSON.stringify, a schema
 * check, a sandbox) that would overflow its stack on it.
 *
 * It never decides whether the text is valid JSON (JSON.parse does that next) and never
 * allocates per character.
 */

/** The deepest a request's JSON may nest (docs/API.md: deeper is 400 VALIDATION_ERROR). */
export const MAX_JSON_DEPTH = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * True when `text` nests deeper than `max` levels. Stops at the first level past `max`, so the
 * cost is bounded by the text's length and never by its nesting.
 */
export function jsonDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  // Fewer characters than levels cannot open that many levels.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}
