/**
 * The README's simulator example must do what it says: the latency it gives the simulator must be
 * longer than the request timeout in force (the one it sets, else the default), or the polls it
 * promises to time out simply succeed slowly.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import { parseDuration } from '../../src/config/values.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

describe('the README simulator example', () => {
  it('gives a latency above the request timeout when it promises timeouts', () => {
    const sentence = README.replace(/\s+/g, ' ')
      .split(/(?<=\.) /)
      .find((s) => s.includes('--latency') && s.includes('time out'));
    expect(sentence, 'the sentence that promises timeouts').toBeDefined();
    const latencyMs = Number(/--latency (\d+)/.exec(sentence ?? '')?.[1]);
    const timeout = /timeout: (\w+)|ZEXA_REQUEST_TIMEOUT=(\w+)/.exec(sentence ?? '');
    const timeoutMs = timeout === null ? DEFAULTS.api.timeoutMs : parseDuration(timeout[1] ?? timeout[2] ?? '');
    expect(latencyMs).toBeGreaterThan(timeoutMs);
  });
});
