/**
 * One poll of every account, through the exporter's own Poller (same retries, concurrency and
 * request-rate limits), stopped as soon as each account has its result. The statuses land in an
 * AccountStore and the keys in a KeyTracker, so the check judges accounts exactly as the
 * exporter's status page and metrics do.
 */
import type { Dispatcher } from 'undici';
import { AccountStore } from '../state/account-store.js';
import type { Clock } from '../lib/clock.js';
import type { AccountConfig, Config } from '../config/types.js';
import { KeyTracker } from '../poll/key-tracker.js';
import { readAccountKey } from '../config/keys.js';
import { createLogger } from '../lib/logger.js';
import { Poller } from '../poll/poller.js';
import { createPollSink } from '../runtime/poll-sink.js';
import type { RetryPolicy } from '../poll/retry.js';
import { USER_AGENT } from '../version.js';
import { createZexaClient } from '../zexa/client.js';

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
  /** The accounts without a result when the deadline passed; empty when every one answered. */
  unanswered: string[];
}

/**
 * Polls every account once, or until `config.check.timeoutMs` has passed: then the polls still
 * running are aborted (a hang, a body that never ends, a retry waiting out a Retry-After) and
 * only the results that came before the deadline count.
 */
export async function pollOnce(
  config: Config,
  accounts: readonly AccountConfig[],
  deps: PollOnceDeps,
): Promise<PolledOnce> {
  const store = new AccountStore();
  store.configure(accounts);
  const keys = new KeyTracker(store, { clock: deps.clock });
  // The exporter's own sink feeds the store; its log lines would only repeat the table.
  const sink = createPollSink(store, createLogger({ level: 'silent' }));
  const pending = new Set(accounts.map((a) => a.name));
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const poller = new Poller<AccountConfig>({
    clock: deps.clock,
    client: createZexaClient({
      baseUrl: config.api.url,
      timeoutMs: config.api.timeoutMs,
      dispatcher: deps.dispatcher,
      userAgent: USER_AGENT,
      clock: deps.clock,
    }),
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
      // Only the first result counts (a second poll would start only an interval later), and
      // none after the deadline.
      if (timedOut || !pending.delete(result.account)) return;
      sink.onResult(result);
      if (pending.size === 0) allDone();
    },
  });
  if (pending.size === 0) allDone();
  let timedOut = false;
  const deadline = new AbortController();
  const timer = deps.clock.sleep(config.check.timeoutMs, deadline.signal).then(
    () => {
      timedOut = true;
    },
    () => undefined,
  );
  poller.update(accounts);
  await Promise.race([done, timer]);
  deadline.abort();
  await poller.stop();
  return { store, keys, unanswered: timedOut ? [...pending] : [] };
}
