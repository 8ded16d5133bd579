/**
 * Thrown synchronously when the simulator is scripted with bad input: an unknown account name, a
 * negative balance, a fault with an impossible setting. The message names the argument and what
 * is expected, and never contains a key.
 */
export class SimulatorUsageError extends Error {
  override readonly name = 'SimulatorUsageError';
}
