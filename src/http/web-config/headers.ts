/**
 * Whether a configured response header (web config `http_server_config.headers`) can be sent at
 * all. The verdict is Node's own: `http.validateHeaderName` and `http.validateHeaderValue`, the
 * very checks `res.setHeader` runs. Run once when the web config is loaded instead of on every
 * response, a refused value (a typographic quote ’ pasted from a document, a control character)
 * stops the start-up with exit 2, or is refused by a reload, rather than turning every request,
 * `/healthz` included, into a 500 "Invalid character in header content".
 *
 * The messages name the header and the offending character by code point and position, never
 * the value itself.
 */
import { http } from '../../lib/node-http.js';

/**
 * What Node's check rejects (`headerCharRegex` in lib/_http_common.js): anything but tab, visible
 * ASCII and the Latin-1 range. Used only to point at the character; the verdict is Node's.
 */
const REFUSED_VALUE_CHARACTER = /[^\t\x20-\x7e\x80-\xff]/u;
/** RFC 9110 `token`, as Node's `checkIsHttpToken`; again only to point at the character. */
const REFUSED_NAME_CHARACTER = /[^_`a-zA-Z0-9!#$%&'*+.|~^-]/u;

const NAMED_CHARACTERS: Readonly<Record<number, string>> = {
  0x00: 'a NUL',
  0x0a: 'a line feed',
  0x0d: 'a carriage return',
  0x2018: "a typographic quote where ' was meant",
  0x2019: "a typographic quote where ' was meant",
  0x201c: 'a typographic quote where " was meant',
  0x201d: 'a typographic quote where " was meant',
};

/** Longest header name shown in a message; a longer one is cut. */
const SHOWN_NAME_CHARS = 64;

function codePoint(char: string): string {
  const cp = char.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const named = NAMED_CHARACTERS[cp];
  return named === undefined ? hex : `${hex} (${named})`;
}

/** Where `pattern` first matches in `text`, as a 1-based character (not UTF-16 unit) position. */
function firstMatch(text: string, pattern: RegExp): { char: string; position: number } | undefined {
  let position = 0;
  for (const char of text) {
    position++;
    if (pattern.test(char)) return { char, position };
  }
  return undefined;
}

/** A header name fit for a message: printable ASCII kept, anything else as \u{…}, length capped. */
export function showHeaderName(name: string): string {
  const chars = Array.from(name);
  const shown = chars
    .slice(0, SHOWN_NAME_CHARS)
    .map((c) => (/^[\x21-\x7e]$/.test(c) ? c : `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`))
    .join('');
  return chars.length > SHOWN_NAME_CHARS ? `${shown}…` : shown;
}

/** Why Node would refuse `name` as a header name, or undefined when it accepts it. */
export function headerNameProblem(name: string): string | undefined {
  try {
    http.validateHeaderName(name);
    return undefined;
  } catch {
    if (name === '') return 'a header name must not be empty';
    const bad = firstMatch(name, REFUSED_NAME_CHARACTER);
    const where = bad === undefined ? '' : `: ${codePoint(bad.char)} at character ${bad.position}`;
    return `header name "${showHeaderName(name)}" is not a valid HTTP token${where}`;
  }
}

/** Why Node would refuse `value` as a header value, or undefined when it accepts it. */
export function headerValueProblem(value: string): string | undefined {
  try {
    // The name only labels Node's error, which is not shown.
    http.validateHeaderValue('x', value);
    return undefined;
  } catch {
    const bad = firstMatch(value, REFUSED_VALUE_CHARACTER);
    const what = bad === undefined ? 'a character' : `${codePoint(bad.char)} at character ${bad.position}`;
    return `the value holds ${what}, which an HTTP header cannot carry (only tab, visible ASCII and Latin-1 can be sent)`;
  }
}
