/**
 * The code of the reload worker (load-in-worker.ts starts it): loads the configuration once with
 * loadConfigAsync over the real file system and posts the outcome. Parsing a 1 MiB YAML file and
 * checking its 18,000 entries cost seconds of CPU that no slicing of the main thread's event loop
 * could hide: the YAML parser alone held it for 2.2 s on a busy 2-core machine.
 *
 * A Config comes back in pieces: first everything but the accounts, then ENTRIES_PER_TURN accounts
 * per message, each sent only when the main thread asks for it. Receiving a message deserializes
 * it on the main thread, and the whole Config of 50,000 accounts in one message cost 0.3-0.7 s
 * there; a piece costs a few milliseconds, and the event loop turns between two pieces.
 *
 * What it posts is already safe to print: a Config never holds a key, and ConfigError's problems
 * are scrubbed of keys by the loader. Any other error is posted without its message, which is
 * nobody's to print.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import { loadConfigAsync, nodeAsyncConfigSources } from './load.js';
import type { LoadAnswer, LoadRequest } from './load-in-worker.js';
import { ENTRIES_PER_TURN } from './read-steps.js';
import type { Config } from './types.js';

async function load({ argv, env }: LoadRequest): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const post = (answer: LoadAnswer): void => port.postMessage(answer);
  let config: Config;
  try {
    config = await loadConfigAsync(nodeAsyncConfigSources(argv, env));
  } catch (error) {
    post(error instanceof ConfigError ? { kind: 'problems', problems: error.problems } : { kind: 'failed' });
    return;
  }
  const { accounts } = config;
  let sent = 0;
  // Any message is a request for the next piece.
  port.on('message', () => {
    post({ kind: 'accounts', accounts: accounts.slice(sent, sent + ENTRIES_PER_TURN) });
    sent += ENTRIES_PER_TURN;
  });
  post({ kind: 'config', config: { ...config, accounts: [] }, accounts: accounts.length });
}

await load(workerData as LoadRequest);
