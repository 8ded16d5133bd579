/**
 * One poll of every account, through the exporter's own Poller (same retries, concurrency and
 * request-rate limits), stopped as soon as each account has its result. The statuses land in an
 * AccountStore and the keys in a KeyTracker, so the check judges accounts exactly as the
 * exporter's status page and metrics do.
 */
import type { Dispatcher } from 'undici';
import { AccountStore } from '../account-state.js';
import type { Clock } from '../clock.js';
import type { AccountConfig, Config } from '../config/types.js';
import { KeyTracker } from '../key-tracker.js';
import { readAccountKey } from '../keys.js';
import { Poller, type PollResult } from '../poller.js';
import type { RetryPolicy } from '../retry.js';
import { USER_AGENT } from '../version.js';
import { createZexaClient } from '../zexa-client.js';

export interface PollOnceDeps {
  clock: Clock;
  dispatcher: Dispatcher;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  /** Base retry policy; `maxAttempts` comes from the configuration. */
  retryPolicy: RetryPolicy;
}

export interface PolledOnce {
  store: AccountStore;
  keys: KeyTracker;
}

function record(store: AccountStore, result: PollResult): void {
  if (result.ok) {
    store.recordSuccess(result.account, { credits: result.credits.credits, currency: result.credits.currency, atMs: result.atMs });
    return;
  }
  const { error } = result;
  store.recordFailure(result.account, {
    reason: result.reason,
    message: error.message,
    status: (error as { status?: number }).status,
    requestId: (error as { requestId?: string }).requestId,
    attempts: result.attempts,
    atMs: result.atMs,
  });
}

export async function pollOnce(config: Config, accounts: readonly AccountConfig[], deps: PollOnceDeps): Promise<PolledOnce> {
  const store = new AccountStore();
  store.configure(accounts);
  const keys = new KeyTracker(store, { clock: deps.clock });
  const pending = new Set(accounts.map((a) => a.name));
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const poller = new Poller<AccountConfig>({
    clock: deps.clock,
    client: createZexaClient({ baseUrl: config.api.url, timeoutMs: config.api.timeoutMs, dispatcher: deps.dispatcher, userAgent: USER_AGENT, clock: deps.clock }),
    readKey: (account) => {
      const key = readAccountKey(account, deps.env, deps.readFile);
      keys.observe(account, key);
      return key;
    },
    policy: { ...deps.retryPolicy, maxAttempts: config.poll.maxAttempts },
    intervalMs: config.poll.intervalMs,
    maxConcurrency: config.poll.maxConcurrency,
    maxRequestsPerSecond: config.poll.maxRequestsPerSecond,
    // Nobody waits for a first result here: start every poll now, within the limits.
    startupSpacingMs: 0,
    onResult: (result) => {
      // Only the first result counts: a second poll would start only an interval later.
      if (!pending.delete(result.account)) return;
      record(store, result);
      if (pending.size === 0) allDone();
    },
  });
  if (pending.size === 0) allDone();
  poller.update(accounts);
  await done;
  await poller.stop();
  return { store, keys };
}
