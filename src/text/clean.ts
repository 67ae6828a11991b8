/**
 * Text cleaning for everything that enters from outside (mail, API inputs). PostgreSQL text
 * cannot hold NUL, and a lone UTF-16 surrogate cannot be encoded as UTF-8: either makes a write
 * fail. Both are replaced with U+FFFD, the replacement character, so the text can always be stored.
 */

const REPLACEMENT = '\uFFFD';
// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with NUL and lone surrogates replaced by U+FFFD. */
export function cleanText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT);
}

// C0 and C1 controls and DEL, except tab, LF and CR: matching them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder
// the text that follows, so "Paul\u202Egnp.exe" shows as "Paulexe.png". Marks (U+200E, U+200F) stay.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text people type for others to read (chat messages, visitor names): control characters other
 * than tab, CR and LF, and bidirectional overrides, removed; nothing else touched.
 */
export function cleanTypedText(text: string): string {
  return text.replace(CONTROL_CHARACTERS, '').replace(BIDI_CONTROLS, '');
}

/** Typed text that is one line (a name, a title, a label): cleaned, trimmed, each run of spaces one space. */
export function cleanTypedLine(text: string): string {
  return cleanTypedText(text).trim().replace(/\s+/g, ' ');
}

/** True when the text holds a NUL or a lone surrogate (for inputs that should be refused instead). */
export function hasUnstorableText(text: string): boolean {
  UNSTORABLE.lastIndex = 0;
  const found = UNSTORABLE.test(text);
  UNSTORABLE.lastIndex = 0;
  return found;
}

/**
 * The length every text limit counts: code points, so an emoji or any other character outside
 * the Basic Multilingual Plane (two UTF-16 units) is one character, as people count it.
 */
export function codePointLength(text: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      surrogatePairs++;
      i++;
    }
  }
  return text.length - surrogatePairs;
}

/** Whether the text is longer than `max` code points (the rule of every length limit). */
export function isLongerThan(text: string, max: number): boolean {
  // Fast paths: within `max` UTF-16 units is within it; past 2 × max units is past it.
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  return codePointLength(text) > max;
}

/** At most `maxCodePoints` code points of the text, never splitting a surrogate pair. */
export function cutByCodePoints(text: string, maxCodePoints: number): string {
  // Fast path: a string no longer than the limit in UTF-16 units is within it in code points.
  if (text.length <= maxCodePoints) return text;
  let units = 0;
  let count = 0;
  while (units < text.length && count < maxCodePoints) {
    const code = text.charCodeAt(units);
    const pair = code >= 0xd800 && code <= 0xdbff && units + 1 < text.length && (text.charCodeAt(units + 1) & 0xfc00) === 0xdc00;
    units += pair ? 2 : 1;
    count++;
  }
  return text.slice(0, units);
}
