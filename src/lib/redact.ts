/**
 * Redaction of secrets from text that leaves the process (log lines, error messages, the status
 * page), in one place. Two rules: every 8-character slice of a key we know is struck from config
 * errors (`withoutKeys`) and refuses an API answer that holds it (`containsKeySlice`), and tokens
 * that look like a key we do not know are hidden (`withoutLikelyKeys`: config errors). Log records
 * are censored by field name as well (logger.ts).
 */

/** The redaction rule: any 8 consecutive characters of a key are a secret; shorter "keys" are not real keys. */
const KEY_SLICE_CHARS = 8;

/**
 * Characters that are skipped when matching, so that a key with a zero-width space, a control
 * character or a line break inside is still found: matching runs on the text as it came, before
 * any character is mapped to something else, so that no mapping can hide a key from the match.
 */
const SKIPPED = /^[\p{Cc}\p{Cf}\p{Z}\s]$/u;

/** ASCII-only lower case: keeps every index where it was (keys are printable ASCII). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}

/** The set of lower-cased slices of `keys`, built once for many texts. */
export function keySlices(keys: readonly string[]): ReadonlySet<string> {
  const slices = new Set<string>();
  for (const key of keys) {
    const lower = asciiLower(key);
    for (let i = 0; i + KEY_SLICE_CHARS <= lower.length; i += 1) slices.add(lower.slice(i, i + KEY_SLICE_CHARS));
  }
  return slices;
}

/**
 * Where each key slice lies in `text`: a mask over `text` (1 = inside a slice), matched
 * case-insensitively and across skipped characters; undefined when there is none.
 */
function sliceHits(text: string, slices: ReadonlySet<string>): Uint8Array | undefined {
  if (slices.size === 0 || text.length < KEY_SLICE_CHARS) return undefined;
  // The text without skipped characters, and where each of its characters starts and ends in `text`.
  let skeleton = '';
  const starts: number[] = [];
  const ends: number[] = [];
  let index = 0;
  for (const char of text) {
    if (!SKIPPED.test(char)) {
      skeleton += char;
      starts.push(index);
      ends.push(index + char.length);
    }
    index += char.length;
  }
  const lower = asciiLower(skeleton);
  let hit: Uint8Array | undefined;
  for (let i = 0; i + KEY_SLICE_CHARS <= lower.length; i += 1) {
    if (!slices.has(lower.slice(i, i + KEY_SLICE_CHARS))) continue;
    hit ??= new Uint8Array(text.length);
    hit.fill(1, starts[i], ends[i + KEY_SLICE_CHARS - 1]);
  }
  return hit;
}

/**
 * Whether `text` holds a slice of a key, by the same rule redaction strikes by. Text from the API
 * that does is refused rather than stored (zexa-client.ts), so no field can carry a key onward.
 */
export function containsKeySlice(text: string, slices: ReadonlySet<string>): boolean {
  return sliceHits(text, slices) !== undefined;
}

/**
 * Strikes from `text` every run that holds a slice of a key, case-insensitively and across
 * skipped characters. Each struck run becomes one `[REDACTED]`, so no tail of a key survives.
 */
function redactSlices(text: string, slices: ReadonlySet<string>): string {
  const hit = sliceHits(text, slices);
  if (hit === undefined) return text;
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    if (hit[i] === 0) out += text[i];
    else if (i === 0 || hit[i - 1] === 0) out += '[REDACTED]';
  }
  return out;
}

/**
 * Strikes any part of a known key from the problem lines. No message is built from a key, so this
 * is a second line of defence: e.g. for a config file path that names a key file by mistake.
 */
export function withoutKeys(problems: readonly string[], keys: readonly string[]): string[] {
  const slices = keySlices(keys);
  return problems.map((line) => redactSlices(line, slices));
}

/** A run of the characters API keys are made of; '.', '/', ':' and spaces split paths and URLs. */
const TOKEN = /[A-Za-z0-9_+=-]{8,}/g;

/** Whether a token looks like an API key rather than a word, a name or a number. */
function looksLikeKey(token: string): boolean {
  if (/^zx_/i.test(token)) return true;
  // Our own variable names (ZEXA_API_KEY_staging) are named in messages on purpose.
  if (token.length < 20 || token.startsWith('ZEXA_')) return false;
  const digits = /[0-9]/.test(token);
  const lower = /[a-z]/.test(token);
  const upper = /[A-Z]/.test(token);
  // Mixed case alone is how camelCase field names look (maxRequestsPerSecond); a random key
  // also has capitals side by side.
  return (digits && (lower || upper)) || (lower && upper && /[A-Z]{2}/.test(token));
}

/**
 * Hides whatever looks like a key in a problem line. Messages quote bad values to help, and a key
 * pasted into the wrong setting (ZEXA_POLL_INTERVAL=zx_…, `apiKeyEnv: zx_…`, a YAML field named
 * after a key) is such a value; it is not one of the keys loading knows, so withoutKeys cannot
 * catch it. Long mixed tokens are hidden too, at the price of sometimes hiding a long name.
 */
export function withoutLikelyKeys(line: string): string {
  return line.replace(TOKEN, (token: string, offset: number) => {
    // A segment of a path (/tmp/zexa-config-7VwHpQ/…) is hidden only when it is plainly a key.
    const inPath = line[offset - 1] === '/' || line[offset + token.length] === '/';
    const hide = inPath ? /^zx_/i.test(token) : looksLikeKey(token);
    return hide ? `[${token.length} characters hidden: it looks like a key]` : token;
  });
}
