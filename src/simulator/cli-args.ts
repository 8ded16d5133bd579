/**
 * The simulator command line, parsed and checked without side effects so every bad flag gets a
 * message naming it.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';

export interface SimulatorCliOptions {
  host: string;
  port: number;
  /** `demo` for the six demo accounts, else this many generated ones. */
  accounts: 'demo' | number;
  latencyMs: number;
  /** Mixed into generated keys. */
  seed: string;
  /** Where to write one key file per account, if anywhere. */
  keyDir: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: node dist/simulator/cli.js [options]

Starts the Zexa API simulator (GET /v1/credits) until SIGINT or SIGTERM.

  --demo              the demo accounts, one per state (default)
  --accounts N        N generated accounts acct_00001 … instead
  --seed TEXT         mixed into generated keys (default none)
  --host HOST         address to listen on (default 127.0.0.1)
  --port PORT         port to listen on, 0 for any free one (default 18080)
  --latency MS        added to every response (default 0)
  --key-dir DIR       write each account's key to DIR/<name> (mode 0600), for the
                      exporter's ZEXA_API_KEY_<NAME>_FILE or accounts.fromDirectory
  -h, --help          this text
`;

/** Thrown for a bad command line; the message names the flag. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

function integer(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliUsageError(`${flag} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

export function parseSimulatorArgs(argv: readonly string[]): SimulatorCliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        demo: { type: 'boolean' },
        accounts: { type: 'string' },
        seed: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        latency: { type: 'string' },
        'key-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliUsageError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  if (values.demo === true && values.accounts !== undefined) {
    throw new CliUsageError('--demo and --accounts exclude each other');
  }
  if (values.host === '') throw new CliUsageError('--host must not be empty');
  if (values['key-dir'] === '') throw new CliUsageError('--key-dir must not be empty');
  return {
    host: values.host ?? '127.0.0.1',
    port: integer('--port', values.port, 18080, 0, 65_535),
    accounts: values.accounts === undefined ? 'demo' : integer('--accounts', values.accounts, 0, 1, 1_000_000),
    latencyMs: integer('--latency', values.latency, 0, 0, 600_000),
    seed: values.seed ?? '',
    keyDir: values['key-dir'],
    help: values.help === true,
  };
}

/**
 * Enough to tell keys apart by eye, nothing to use: the first three characters (the `zx_`
 * family) and a short SHA-256 fingerprint, the form the exporter's logs use too.
 */
export function maskKey(key: string): string {
  const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${key.length >= 12 ? key.slice(0, 3) : ''}… sha256:${fingerprint}`;
}
