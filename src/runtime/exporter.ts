/**
 * A running exporter built from a Config: the account store, the metrics, the polling, the HTTP
 * listener and the reloader, wired together. `main.ts` adds the process around it (signals, exit
 * codes); tests, the demo and the benchmarks start it directly.
 */
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { AccountStore } from '../state/account-store.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { AccountConfig, Config, ReloadOutcome } from '../config/types.js';
import { readFileBoundedAsync } from '../lib/bounded-read.js';
import { ConfigError } from '../config/errors.js';
import { KeyTracker } from '../poll/key-tracker.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../poll/retry.js';
import { createApp, PROBE_PATHS } from '../http/app.js';
import { ownsAccount } from '../poll/shard.js';
import { createStatusViews } from '../views/service.js';
import { VERSION } from '../version.js';
import { basicAuthMiddleware, headersMiddleware } from '../http/web-config/auth.js';
import { limitConnections } from '../http/connection-limits.js';
import { sharedBodyWriter, slowReaderDrops } from '../http/shared-body.js';
import { plainTextKeyWarning } from '../zexa/plain-text-transport.js';
import { openWebConfig } from '../http/web-config/source.js';
import { createHttpServer } from '../http/server.js';
import { HttpListener } from '../http/listener.js';
import { createPollSink, logSharedKey, logFutureMtime } from './poll-sink.js';
import { Polling } from './polling.js';
import { Reloader } from './reloader.js';
import { StatusPageCache } from './status-page-cache.js';

export interface ExporterDeps {
  clock: Clock;
  /** HTTP transport to the API; an undici EnvHttpProxyAgent when omitted. */
  dispatcher: Dispatcher | undefined;
  logger: Logger | undefined;
  /** Where JSON log lines go when no logger is given (stdout by default). */
  logDestination: DestinationStream | undefined;
  registry: Registry | undefined;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => Promise<string>;
  /** Loads the configuration again (SIGHUP, POST /-/reload); throws ConfigError. */
  loadConfig: (() => Config | Promise<Config>) | undefined;
  random: (() => number) | undefined;
  /** Collect prom-client's process metrics (default true). */
  processMetrics: boolean;
  /** Base retry policy; `maxAttempts` comes from the configuration. */
  retryPolicy: RetryPolicy;
  /** The accounts this replica polls: by default all, or its shard's share. */
  accountFilter: AccountFilter;
}

/** The accounts this replica polls: all of them, or its shard's share. */
type AccountFilter = (account: AccountConfig, config: Config) => boolean;

/** What asked for a reload, for the log. */
export type ReloadSource = 'SIGHUP' | 'http' | 'api';

const MAX_LOGGED_NAMES = 50;

function describeNames(names: readonly string[]): string[] {
  return names.length <= MAX_LOGGED_NAMES
    ? [...names]
    : [...names.slice(0, MAX_LOGGED_NAMES), `… and ${names.length - MAX_LOGGED_NAMES} more`];
}

/** A sharded replica polls (and exports) only the accounts rendezvous hashing gives its shard. */
const byShard: AccountFilter = (account, config) =>
  config.shard === undefined || ownsAccount(account.name, config.shard);

function withDefaults(overrides: Partial<ExporterDeps>): ExporterDeps {
  return {
    clock: overrides.clock ?? systemClock,
    dispatcher: overrides.dispatcher,
    logger: overrides.logger,
    logDestination: overrides.logDestination,
    registry: overrides.registry,
    env: overrides.env ?? process.env,
    // Bounded: a key path pointing at /dev/zero or a huge file must not fill memory.
    readFile: overrides.readFile ?? readFileBoundedAsync,
    loadConfig: overrides.loadConfig,
    random: overrides.random,
    processMetrics: overrides.processMetrics ?? true,
    retryPolicy: overrides.retryPolicy ?? DEFAULT_RETRY_POLICY,
    accountFilter: overrides.accountFilter ?? byShard,
  };
}

const CLIENT_ERROR_LOG_INTERVAL_MS = 60_000;
const CLIENT_ERROR_LOG_CHARS = 200;

export class Exporter {
  readonly store = new AccountStore();
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  private current: Config;
  private readonly keys: KeyTracker;
  private readonly polling: Polling;
  private readonly reloader: Reloader;
  private listener: HttpListener | undefined;
  private closing: Promise<void> | undefined;
  /** Client errors since the last one logged, and when that was (monotonic ms). */
  private clientErrors = { unlogged: 0, loggedAt: -Infinity };

  private constructor(
    private readonly deps: ExporterDeps,
    config: Config,
  ) {
    this.current = config;
    this.logger =
      deps.logger ??
      createLogger({
        level: config.log.level,
        ...(deps.logDestination === undefined ? {} : { destination: deps.logDestination }),
      });
    this.metrics = new ExporterMetrics(this.store, {
      version: VERSION,
      nodeVersion: process.version,
      ...(deps.registry === undefined ? {} : { registry: deps.registry }),
      processMetrics: deps.processMetrics,
    });
    this.metrics.setInitialLoad(deps.clock.now());
    this.metrics.setShard(config.shard);
    this.keys = new KeyTracker(this.store, {
      clock: deps.clock,
      onSharedChange: (change) => logSharedKey(this.logger, change),
      onFutureMtime: (event) => logFutureMtime(this.logger, event),
    });
    this.polling = new Polling(
      {
        ...deps,
        metrics: this.metrics,
        sink: createPollSink(this.store, this.logger),
        onKeyRead: (account, key) => this.keys.observe(account, key),
      },
      config,
    );
    this.store.configure(this.polledAccounts(config));
    this.reloader = new Reloader((requests) => this.applyReload(requests));
  }

  /**
   * Starts polling and listening. Throws ConfigError when the web config file or the proxy
   * environment is unusable, and the listen error (EADDRINUSE…) when the address is taken.
   */
  static async start(config: Config, overrides: Partial<ExporterDeps> = {}): Promise<Exporter> {
    const exporter = new Exporter(withDefaults(overrides), config);
    try {
      await exporter.listen();
    } catch (error) {
      await exporter.polling.stop();
      throw error;
    }
    return exporter;
  }

  /** http(s)://host:port of the listening server. */
  get url(): string {
    return (this.listener as HttpListener).url;
  }

  get port(): number {
    return (this.listener as HttpListener).port;
  }

  /** The running configuration. */
  config(): Config {
    return this.current;
  }

  /**
   * Loads the configuration again and applies it, or refuses it and keeps the running one. Runs
   * after the reload in progress, if any; requests made meanwhile share one run.
   */
  reload(source: ReloadSource = 'api'): Promise<ReloadOutcome> {
    // One line per run (applyReload) at info: a flood of requests is not a flood of lines.
    this.logger.debug({ source }, 'reload requested');
    return this.reloader.request();
  }

  /** Stops polling, aborts requests in flight and closes the server; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.reloader.close();
      const stopPolling = (): Promise<void> => this.polling.stop();
      if (this.listener === undefined) await stopPolling();
      else await this.listener.close(stopPolling);
      this.logger.info('zexa-exporter stopped');
      this.logger.flush?.();
    })();
    return this.closing;
  }

  /**
   * Counted in zexa_exporter_http_client_errors_total; logged at debug level only, cut to 200
   * characters, and at most once a minute with the number left unlogged in between.
   */
  private clientError(status: number, error: unknown): void {
    this.metrics.countClientError(status);
    const nowMs = this.deps.clock.monotonic();
    if (nowMs - this.clientErrors.loggedAt < CLIENT_ERROR_LOG_INTERVAL_MS) {
      this.clientErrors.unlogged++;
      return;
    }
    const message = Array.from(error instanceof Error ? error.message : 'bad request')
      .slice(0, CLIENT_ERROR_LOG_CHARS)
      .join('');
    this.logger.debug({ status, error: message, not_logged_before: this.clientErrors.unlogged }, 'client error');
    this.clientErrors = { unlogged: 0, loggedAt: nowMs };
  }

  private polledAccounts(config: Config): AccountConfig[] {
    return config.accounts.filter((account) => this.deps.accountFilter(account, config));
  }

  private async listen(): Promise<void> {
    const { clock } = this.deps;
    const config = this.current;
    const logger = this.logger;
    // Throws ConfigError when the web config file is unusable: the caller exits with code 2.
    const web =
      config.web.configFile === undefined
        ? undefined
        : openWebConfig(config.web.configFile, {
            logger,
            onReloadResult: (ok) => this.metrics.setReloadResult(ok, clock.now()),
          });
    const cache = new StatusPageCache(clock, () => this.store.version);
    const views = createStatusViews({
      store: this.store,
      clock,
      context: () => ({ version: VERSION, intervalMs: this.current.poll.intervalMs, shard: this.current.shard }),
      cached: (key, render) => cache.get(key, render),
      sharedWith: (name) => this.keys.sharedWith(name),
    });
    const app = createApp({
      metrics: this.metrics,
      isReady: () => this.store.allPolled(),
      views,
      ...(this.deps.loadConfig === undefined ? {} : { reload: () => this.reload('http') }),
      // The probe paths stay open; everything else needs the web config's credentials.
      before:
        web === undefined
          ? []
          : [headersMiddleware(web), basicAuthMiddleware(web, { unprotectedPaths: PROBE_PATHS, logger })],
      onError: (error) =>
        logger.error({ error: error instanceof Error ? error.message : 'unknown error' }, 'request failed'),
      onClientError: (status, error) => this.clientError(status, error),
      bodyWriter: sharedBodyWriter({ onDrop: slowReaderDrops(clock, logger) }),
    });
    const server = createHttpServer(web, app, { logger });
    limitConnections(server, {
      maxConnections: config.web.maxConnections,
      maxConnectionsPerAddress: config.web.maxConnectionsPerAddress,
      logger,
      clock,
    });
    this.listener = await HttpListener.listen(server, config.web, web?.current().tls === undefined ? 'http' : 'https');

    const accounts = this.polledAccounts(config);
    await this.polling.apply(config, accounts);
    this.warnRate(config, accounts.length);
    logger.info(
      {
        version: VERSION,
        accounts: describeNames(accounts.map((a) => a.name)),
        account_count: accounts.length,
        interval_seconds: config.poll.intervalMs / 1000,
        api_url: config.api.url,
        listen_address: config.web.listenAddress,
        port: this.listener.port,
        ...(config.shard === undefined ? {} : { shard: `${config.shard.index}/${config.shard.count}` }),
      },
      'zexa-exporter started',
    );
    this.warnPlainText(config.api.url);
  }

  /** One reload, run by the reloader only: never two at once. */
  private async applyReload(requests: number): Promise<ReloadOutcome> {
    const { loadConfig, clock } = this.deps;
    this.logger.info({ requests }, 'reload running');
    if (loadConfig === undefined) return { ok: false, problems: ['no configuration file to reload'] };
    let next: Config;
    try {
      next = await loadConfig();
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : ['the configuration could not be loaded'];
      this.metrics.setReloadResult(false, clock.now());
      for (const problem of problems)
        this.logger.error({ problem }, 'configuration reload failed; keeping the running configuration');
      return { ok: false, problems };
    }
    const previous = this.current;
    this.current = next;
    const accounts = this.polledAccounts(next);
    const removed = this.store.configure(accounts);
    this.metrics.forget(removed);
    this.keys.forget(removed);
    this.metrics.setShard(next.shard);
    await this.polling.apply(next, accounts);
    if (next.log.level !== previous.log.level) this.logger.level = next.log.level;
    if (
      next.web.listenAddress !== previous.web.listenAddress ||
      next.web.configFile !== previous.web.configFile ||
      next.web.maxConnections !== previous.web.maxConnections ||
      next.web.maxConnectionsPerAddress !== previous.web.maxConnectionsPerAddress
    ) {
      this.logger.warn(
        'web.listenAddress, web.configFile, web.maxConnections and web.maxConnectionsPerAddress take effect at the next restart',
      );
    }
    this.metrics.setReloadResult(true, clock.now());
    // Once per change: a reload that keeps the URL was warned about when it came.
    if (next.api.url !== previous.api.url) this.warnPlainText(next.api.url);
    this.warnRate(next, accounts.length);
    this.logger.info(
      { accounts: describeNames(accounts.map((a) => a.name)), removed: describeNames(removed) },
      'configuration reloaded',
    );
    return { ok: true, problems: [] };
  }

  /** At start-up and when a reload brings a new API URL: an http:// URL off this machine sends keys unencrypted. */
  private warnPlainText(apiUrl: string): void {
    const warning = plainTextKeyWarning(apiUrl);
    if (warning !== undefined) this.logger.warn({ api_url: apiUrl }, warning);
  }

  private warnRate(config: Config, count: number): void {
    const needed = count / (config.poll.intervalMs / 1000);
    if (config.poll.maxRequestsPerSecond !== undefined && needed > config.poll.maxRequestsPerSecond) {
      this.logger.warn(
        {
          accounts: count,
          needed_requests_per_second: Number(needed.toFixed(2)),
          max_requests_per_second: config.poll.maxRequestsPerSecond,
        },
        'ZEXA_MAX_REQUESTS_PER_SECOND is below what polling every account once per interval needs: polls will run late',
      );
    }
  }
}

/** Starts an exporter (see {@link Exporter.start}). */
export function startExporter(config: Config, overrides: Partial<ExporterDeps> = {}): Promise<Exporter> {
  return Exporter.start(config, overrides);
}

/** The running exporter, as `startExporter` returns it. */
export type RunningExporter = Exporter;
