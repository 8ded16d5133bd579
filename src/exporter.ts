/**
 * Builds a running exporter from a Config: the account store, the metrics, the Zexa client, the
 * poller and the HTTP server, wired together. `main.ts` adds the process around it (signals,
 * exit codes); tests, the demo and the benchmarks call `startExporter` directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { AccountStore } from './account-state.js';
import { systemClock, type Clock } from './clock.js';
import type { AccountConfig, Config } from './config/types.js';
import { keyFingerprint, readAccountKey } from './keys.js';
import { readFileBounded } from './lib/bounded-read.js';
import { ConfigError } from './errors.js';
import { KeyTracker, type SharedKeyChange } from './key-tracker.js';
import { createLogger, type Logger } from './logger.js';
import { ExporterMetrics } from './metrics.js';
import { Poller, type PollResult } from './poller.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { createApp, type ReloadOutcome } from './server.js';
import { ownsAccount } from './shard.js';
import { createStatusViews } from './status-page/service.js';
import { basicAuthMiddleware, headersMiddleware } from './web-auth.js';
import { createHttpServer, openWebConfig } from './web-config.js';
import { USER_AGENT, VERSION } from './version.js';
import { createDispatcher, createZexaClient } from './zexa-client.js';

export interface ExporterDeps {
  clock: Clock;
  /** HTTP transport to the API; an undici EnvHttpProxyAgent when omitted. */
  dispatcher: Dispatcher | undefined;
  logger: Logger | undefined;
  /** Where JSON log lines go when no logger is given (stdout by default). */
  logDestination: DestinationStream | undefined;
  registry: Registry | undefined;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  /** Loads the configuration again (SIGHUP, POST /-/reload); throws ConfigError. */
  loadConfig: (() => Config) | undefined;
  random: (() => number) | undefined;
  /** Collect prom-client's process metrics (default true). */
  processMetrics: boolean;
  /** Base retry policy; `maxAttempts` comes from the configuration. */
  retryPolicy: RetryPolicy;
}

export interface RunningExporter {
  /** http://host:port of the listening server. */
  readonly url: string;
  readonly port: number;
  readonly store: AccountStore;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  config(): Config;
  reload(): Promise<ReloadOutcome>;
  /** Stops polling, aborts requests in flight and closes the server; idempotent. */
  close(): Promise<void>;
}


const MAX_LOGGED_NAMES = 50;

function describeNames(names: readonly string[]): string[] {
  return names.length <= MAX_LOGGED_NAMES ? [...names] : [...names.slice(0, MAX_LOGGED_NAMES), `… and ${names.length - MAX_LOGGED_NAMES} more`];
}

/** Once per change, naming the accounts and the fingerprint, never the key. */
function logSharedKey(logger: Logger, change: SharedKeyChange): void {
  const fields = { account: change.account, shared_with: change.others, fingerprint: change.fingerprint };
  if (change.shared) logger.warn(fields, 'API key shared: another account of this exporter polls with the same key (one key per application or environment)');
  else logger.info(fields, 'API key no longer shared with these accounts');
}

/** The accounts this replica polls: all of them, or its shard's share. */
export type AccountFilter = (account: AccountConfig, config: Config) => boolean;

export async function startExporter(
  initialConfig: Config,
  overrides: Partial<ExporterDeps> & { accountFilter?: AccountFilter } = {},
): Promise<RunningExporter> {
  const deps: ExporterDeps = {
    clock: overrides.clock ?? systemClock,
    dispatcher: overrides.dispatcher,
    logger: overrides.logger,
    logDestination: overrides.logDestination,
    registry: overrides.registry,
    env: overrides.env ?? process.env,
    // Bounded: a key path pointing at /dev/zero or a huge file must not fill memory.
    readFile: overrides.readFile ?? readFileBounded,
    loadConfig: overrides.loadConfig,
    random: overrides.random,
    processMetrics: overrides.processMetrics ?? true,
    retryPolicy: overrides.retryPolicy ?? DEFAULT_RETRY_POLICY,
  };
  // A sharded replica polls (and exports) only the accounts rendezvous hashing gives its shard.
  const accountFilter: AccountFilter =
    overrides.accountFilter ?? ((account, cfg) => cfg.shard === undefined || ownsAccount(account.name, cfg.shard));
  const { clock } = deps;
  let config = initialConfig;
  const logger =
    deps.logger ??
    createLogger({ level: config.log.level, ...(deps.logDestination === undefined ? {} : { destination: deps.logDestination }) });

  const store = new AccountStore();
  const metrics = new ExporterMetrics(store, {
    version: VERSION,
    nodeVersion: process.version,
    ...(deps.registry === undefined ? {} : { registry: deps.registry }),
    processMetrics: deps.processMetrics,
  });
  const keys = new KeyTracker(store, { clock, onSharedChange: (change) => logSharedKey(logger, change) });
  metrics.setInitialLoad(clock.now());
  metrics.setShard(config.shard);

  const ownDispatcher = deps.dispatcher === undefined;
  let dispatcher: Dispatcher;
  try {
    dispatcher = deps.dispatcher ?? createDispatcher({ timeoutMs: config.api.timeoutMs, env: deps.env });
  } catch (error) {
    // A proxy variable that is not an http(s) URL: a configuration problem like any other.
    if (error instanceof RangeError) throw new ConfigError([error.message]);
    throw error;
  }

  const onResult = (result: PollResult): void => {
    if (result.ok) {
      const { recovered } = store.recordSuccess(result.account, {
        credits: result.credits.credits,
        currency: result.credits.currency,
        atMs: result.atMs,
      });
      if (recovered) {
        logger.info({ account: result.account, credits: result.credits.credits, currency: result.credits.currency, attempts: result.attempts }, 'account recovered');
      } else {
        logger.debug({ account: result.account, credits: result.credits.credits, currency: result.credits.currency, attempts: result.attempts }, 'poll succeeded');
      }
      return;
    }
    const { error } = result;
    const status = (error as { status?: number }).status;
    const requestId = (error as { requestId?: string }).requestId;
    store.recordFailure(result.account, {
      reason: result.reason,
      message: error.message,
      status,
      requestId,
      attempts: result.attempts,
      atMs: result.atMs,
    });
    logger.warn(
      { account: result.account, reason: result.reason, status, request_id: requestId, attempts: result.attempts, error: error.message },
      'poll failed',
    );
  };

  const buildPoller = (cfg: Config): Poller<AccountConfig> => {
    const client = createZexaClient({
      baseUrl: cfg.api.url,
      timeoutMs: cfg.api.timeoutMs,
      dispatcher,
      userAgent: USER_AGENT,
      clock,
      onAttempt: ({ code, durationSeconds }) => metrics.observeRequest(code, durationSeconds),
    });
    return new Poller<AccountConfig>({
      clock,
      client,
      readKey: (account) => {
        const key = readAccountKey(account, deps.env, deps.readFile);
        keys.observe(account, key);
        return key;
      },
      policy: { ...deps.retryPolicy, maxAttempts: cfg.poll.maxAttempts },
      intervalMs: cfg.poll.intervalMs,
      maxConcurrency: cfg.poll.maxConcurrency,
      maxRequestsPerSecond: cfg.poll.maxRequestsPerSecond,
      ...(deps.random === undefined ? {} : { random: deps.random }),
      onResult,
      onKeyChange: (account, previous, current) =>
        logger.info({ account: account.name, previous_key: keyFingerprint(previous), current_key: keyFingerprint(current) }, 'key changed: using the new key'),
      onRetry: (account, info) =>
        logger.debug({ account: account.name, attempt: info.attemptNumber, delay_ms: Math.round(info.delayMs), error: info.error instanceof Error ? info.error.message : 'error' }, 'retrying'),
    });
  };

  const polledAccounts = (cfg: Config): AccountConfig[] => cfg.accounts.filter((a) => accountFilter(a, cfg));
  let accounts = polledAccounts(config);
  store.configure(accounts);
  let poller = buildPoller(config);

  const warnRate = (cfg: Config, count: number): void => {
    const needed = count / (cfg.poll.intervalMs / 1000);
    if (cfg.poll.maxRequestsPerSecond !== undefined && needed > cfg.poll.maxRequestsPerSecond) {
      logger.warn(
        { accounts: count, needed_requests_per_second: Number(needed.toFixed(2)), max_requests_per_second: cfg.poll.maxRequestsPerSecond },
        'ZEXA_MAX_REQUESTS_PER_SECOND is below what polling every account once per interval needs: polls will run late',
      );
    }
  };

  const reload = async (): Promise<ReloadOutcome> => {
    if (deps.loadConfig === undefined) return { ok: false, problems: ['no configuration file to reload'] };
    let next: Config;
    try {
      next = deps.loadConfig();
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : ['the configuration could not be loaded'];
      metrics.setReloadResult(false, clock.now());
      for (const problem of problems) logger.error({ problem }, 'configuration reload failed; keeping the running configuration');
      return { ok: false, problems };
    }
    const previous = config;
    config = next;
    accounts = polledAccounts(next);
    const removed = store.configure(accounts);
    metrics.forget(removed);
    keys.forget(removed);
    metrics.setShard(next.shard);
    const pollSettingsChanged =
      JSON.stringify([previous.api, previous.poll]) !== JSON.stringify([next.api, next.poll]);
    if (pollSettingsChanged) {
      // New interval, timeout, URL or limits: start a fresh poller over the same store, so the
      // metrics carry on while the schedule is rebuilt.
      await poller.stop();
      if (next.api.timeoutMs !== previous.api.timeoutMs && ownDispatcher) {
        const old = dispatcher;
        dispatcher = createDispatcher({ timeoutMs: next.api.timeoutMs, env: deps.env });
        void old.close().catch(() => undefined);
      }
      poller = buildPoller(next);
    }
    poller.update(accounts);
    if (next.log.level !== previous.log.level) logger.level = next.log.level;
    if (next.web.listenAddress !== previous.web.listenAddress || next.web.configFile !== previous.web.configFile) {
      logger.warn('web.listenAddress and web.configFile take effect at the next restart');
    }
    metrics.setReloadResult(true, clock.now());
    warnRate(next, accounts.length);
    logger.info({ accounts: describeNames(accounts.map((a) => a.name)), removed: describeNames(removed) }, 'configuration reloaded');
    return { ok: true, problems: [] };
  };

  // Throws ConfigError when the web config file is unusable: the caller exits with code 2.
  const web = config.web.configFile === undefined ? undefined : openWebConfig(config.web.configFile, { logger });

  const views = createStatusViews({
    store,
    clock,
    context: () => ({ version: VERSION, intervalMs: config.poll.intervalMs, shard: config.shard }),
  });
  const app = createApp({
    metrics,
    isReady: () => store.allPolled(),
    views,
    ...(deps.loadConfig === undefined ? {} : { reload }),
    // /healthz stays open for probes; everything else needs the web config's credentials.
    before: web === undefined ? [] : [headersMiddleware(web), basicAuthMiddleware(web, { unprotectedPaths: ['/healthz'], logger })],
    onError: (error) => logger.error({ error: error instanceof Error ? error.message : 'unknown error' }, 'request failed'),
  });

  const server = createHttpServer(web, app, { logger });
  server.keepAliveTimeout = 65_000;
  // server.close() closes only idle connections and goes on serving busy keep-alive ones, so a
  // scraper that reuses its connection back to back would be cut mid-response by the grace timer.
  // From shutdown on, each response says `Connection: close` and its connection ends after it.
  let draining = false;
  const unanswered = new Set<ServerResponse>();
  const drain = (res: ServerResponse): void => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
    else res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
  };
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) {
      drain(res);
      return;
    }
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.web.port, host: config.web.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = web?.current().tls === undefined ? 'http' : 'https';
  const url = `${scheme}://${shownHost === '[::]' || shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`;

  poller.update(accounts);
  warnRate(config, accounts.length);
  logger.info(
    {
      version: VERSION,
      accounts: describeNames(accounts.map((a) => a.name)),
      account_count: accounts.length,
      interval_seconds: config.poll.intervalMs / 1000,
      api_url: config.api.url,
      listen_address: config.web.listenAddress,
      port: address.port,
      ...(config.shard === undefined ? {} : { shard: `${config.shard.index}/${config.shard.count}` }),
    },
    'zexa-exporter started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      draining = true;
      for (const res of unanswered) drain(res);
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await poller.stop();
      // Scrapes in progress get a moment to finish; then every connection is cut.
      const grace = setTimeout(() => server.closeAllConnections(), 1000);
      grace.unref();
      await serverClosed;
      clearTimeout(grace);
      if (ownDispatcher) await dispatcher.destroy().catch(() => undefined);
      logger.info('zexa-exporter stopped');
      logger.flush?.();
    })());

  return {
    url,
    port: address.port,
    store,
    metrics,
    logger,
    config: () => config,
    reload,
    close,
  };
}
