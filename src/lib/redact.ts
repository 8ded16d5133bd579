/**
 * Redaction of secrets from text that leaves the process (log lines, error messages, the status
 * page). Two rules: `withoutKeys` strikes every 8-character slice of the keys we know, and
 * `withoutLikelyKeys` hides tokens that look like a key we do not know.
 */

/**
 * Strikes any part of a known key from the problem lines. No message is built from a key, so this
 * is a second line of defence: e.g. for a config file path that names a key file by mistake.
 */
export function withoutKeys(problems: readonly string[], keys: readonly string[]): string[] {
  const SLICE = 8;
  // Shorter "keys" are not real keys, and their pieces would strike ordinary words.
  const slices = new Set(keys.filter((k) => k.length >= SLICE).flatMap((k) => Array.from({ length: k.length - SLICE + 1 }, (_, i) => k.slice(i, i + SLICE))));
  if (slices.size === 0) return [...problems];
  return problems.map((line) => {
    const hit = new Uint8Array(line.length);
    for (const slice of slices) {
      for (let i = line.indexOf(slice); i >= 0; i = line.indexOf(slice, i + 1)) hit.fill(1, i, i + SLICE);
    }
    // Each run of struck characters becomes one marker, so no tail of a key survives.
    let out = '';
    for (let i = 0; i < line.length; i += 1) {
      if (hit[i] === 0) out += line[i];
      else if (i === 0 || hit[i - 1] === 0) out += '[REDACTED]';
    }
    return out;
  });
}

/** A run of the characters API keys are made of; '.', '/', ':' and spaces split paths and URLs. */
const TOKEN = /[A-Za-z0-9_+=-]{8,}/g;

/** Whether a token looks like an API key rather than a word, a name or a number. */
export function looksLikeKey(token: string): boolean {
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
