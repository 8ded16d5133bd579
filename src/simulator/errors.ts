/**
 * Thrown synchronously when the simulator is scripted with bad input: an unknown account name, a
 * negative balance, a fault with an impossible setting. The message names the argument and what
 * is expected, and never contains a key.
 */
export class SimulatorUsageError extends Error {
  override readonly name = 'SimulatorUsageError';
}

/** A bad value as a message shows it: primitives as they are, objects by kind only. */
export function shownValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}
