/**
 * The poller and its transport, rebuilt when the poll or API settings change. A reload that only
 * adds or removes accounts or changes thresholds keeps the running schedule; one that changes the
 * interval, the timeout, the URL or the limits stops the poller (waiting for its polls in flight
 * to end) and starts a fresh one over the same store, so the metrics carry on while the schedule
 * is rebuilt. Callers serialize `apply` and `stop` (see reloader.ts): two overlapping rebuilds
 * would each start a poller.
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../lib/clock.js';
import type { AccountConfig, Config } from '../config/types.js';
import { readAccountKeyAsync } from '../config/keys.js';
import { ConfigError } from '../config/errors.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { Poller } from '../poll/poller.js';
import type { RetryPolicy } from '../poll/retry.js';
import { USER_AGENT } from '../version.js';
import { createDispatcher, createZexaClient } from '../zexa/client.js';
import type { PollSink } from './poll-sink.js';

export interface PollingDeps {
  clock: Clock;
  /** HTTP transport to the API; owned (and rebuilt on a timeout change) when not given. */
  dispatcher: Dispatcher | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a key file without blocking the event loop (a FIFO or a slow disk must not freeze /healthz). */
  readFile: (path: string) => Promise<string>;
  random: (() => number) | undefined;
  /** Base retry policy; `maxAttempts` comes from the configuration. */
  retryPolicy: RetryPolicy;
  metrics: ExporterMetrics;
  sink: PollSink;
  /** Sees every key read for a poll (the key tracker); must not keep it. */
  onKeyRead: (account: AccountConfig, key: string) => void;
}

export class Polling {
  private readonly ownDispatcher: boolean;
  private dispatcher: Dispatcher;
  private poller: Poller<AccountConfig>;
  private settings: Config;

  /** Throws ConfigError when the proxy environment is unusable. */
  constructor(
    private readonly deps: PollingDeps,
    config: Config,
  ) {
    this.ownDispatcher = deps.dispatcher === undefined;
    this.dispatcher = deps.dispatcher ?? this.newDispatcher(config);
    this.settings = config;
    this.poller = this.newPoller(config);
  }

  /** Polls exactly `accounts` from now on, under `config`'s poll and API settings. */
  async apply(config: Config, accounts: readonly AccountConfig[]): Promise<void> {
    const previous = this.settings;
    this.settings = config;
    if (JSON.stringify([previous.api, previous.poll]) !== JSON.stringify([config.api, config.poll])) {
      await this.poller.stop();
      if (config.api.timeoutMs !== previous.api.timeoutMs && this.ownDispatcher) {
        const old = this.dispatcher;
        this.dispatcher = this.newDispatcher(config);
        void old.close().catch(() => undefined);
      }
      this.poller = this.newPoller(config);
    }
    this.poller.update(accounts);
  }

  /** Stops polling, aborting requests in flight; closes the transport it owns. */
  async stop(): Promise<void> {
    await this.poller.stop();
    if (this.ownDispatcher) await this.dispatcher.destroy().catch(() => undefined);
  }

  private newDispatcher(config: Config): Dispatcher {
    try {
      return createDispatcher({ timeoutMs: config.api.timeoutMs, env: this.deps.env });
    } catch (error) {
      // A proxy variable that is not an http(s) URL: a configuration problem like any other.
      if (error instanceof RangeError) throw new ConfigError([error.message]);
      throw error;
    }
  }

  private newPoller(config: Config): Poller<AccountConfig> {
    const { clock, env, readFile, random, retryPolicy, metrics, sink, onKeyRead } = this.deps;
    const client = createZexaClient({
      baseUrl: config.api.url,
      timeoutMs: config.api.timeoutMs,
      dispatcher: this.dispatcher,
      userAgent: USER_AGENT,
      clock,
      onAttempt: ({ code, durationSeconds }) => metrics.observeRequest(code, durationSeconds),
    });
    return new Poller<AccountConfig>({
      clock,
      client,
      readKey: async (account) => {
        const key = await readAccountKeyAsync(account, env, readFile);
        onKeyRead(account, key);
        return key;
      },
      policy: { ...retryPolicy, maxAttempts: config.poll.maxAttempts },
      intervalMs: config.poll.intervalMs,
      maxConcurrency: config.poll.maxConcurrency,
      maxRequestsPerSecond: config.poll.maxRequestsPerSecond,
      ...(random === undefined ? {} : { random }),
      ...sink,
    });
  }
}
