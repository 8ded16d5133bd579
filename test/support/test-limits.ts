/**
 * The poll limits tests load their Config with (`loadConfig(sources, { limits: TEST_LIMITS })`):
 * polls every few hundred milliseconds, and a request timeout longer than the interval (to show
 * that polls of one account never overlap). The product's own floors (src/config/defaults.ts)
 * stay in force for everyone else; no test changes a loaded Config below them.
 */
import { LIMITS, type PollLimits } from '../../src/config/defaults.js';

export const TEST_LIMITS: PollLimits = {
  intervalMs: { min: 1, max: LIMITS.intervalMs.max },
  timeoutMs: { min: 1, max: LIMITS.timeoutMs.max },
  timeoutIntervals: Number.POSITIVE_INFINITY,
};

/** A duration in the form ZEXA_POLL_INTERVAL and ZEXA_REQUEST_TIMEOUT read: `400ms`. */
export function ms(duration: number): string {
  return `${duration}ms`;
}
