/**
 * The shape of a loaded configuration. A Config never holds a key: accounts name where their key
 * lives (KeySource), and the key is read at poll time (config/keys.ts).
 */
import type { LogLevel } from '../lib/logger.js';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface Thresholds {
  warning: number;
  critical: number;
}

/** Where an account's key lives. The key itself is never part of a Config. */
type KeySource =
  /** An environment variable, e.g. ZEXA_API_KEY or ZEXA_API_KEY_STAGING. */
  | { kind: 'env'; variable: string }
  /**
   * A file, re-read at every poll so a rotated key is used without a restart. `origin` says
   * where the path came from (e.g. `ZEXA_API_KEY_FILE`, `accounts[0].apiKeyFile in config.yml`).
   */
  | { kind: 'file'; path: string; origin: string };

export interface AccountConfig {
  /** `[a-z0-9_]{1,64}`, unique. */
  name: string;
  key: KeySource;
  thresholds: Thresholds;
}

export interface Config {
  api: {
    /** Base URL without trailing slash, http or https, no credentials. */
    url: string;
    timeoutMs: number;
  };
  poll: {
    intervalMs: number;
    maxConcurrency: number;
    /** Attempts per poll, the first included. */
    maxAttempts: number;
    /** Cap on requests per second across all accounts; undefined = no cap beyond spreading. */
    maxRequestsPerSecond: number | undefined;
  };
  /** Defaults for accounts that set none. */
  thresholds: Thresholds;
  accounts: AccountConfig[];
  web: {
    /** As given, e.g. ":10025" or "127.0.0.1:9999" or "[::1]:10025". */
    listenAddress: string;
    /** undefined = every interface. */
    host: string | undefined;
    port: number;
    /** exporter-toolkit web config file (TLS, basic auth), if any. */
    configFile: string | undefined;
    /** Open client connections at most; further ones are closed at once (server.maxConnections). */
    maxConnections: number;
    /** Open client connections from one remote address at most; further ones from it are closed at once. */
    maxConnectionsPerAddress: number;
  };
  log: { level: LogLevel };
  /** `zexa-exporter check` only: how long it may take before it answers UNKNOWN. */
  check: { timeoutMs: number };
  /** Shard this replica polls, if any: INDEX/COUNT with 0 <= index < count. */
  shard: { index: number; count: number } | undefined;
  /** The YAML file the config was read from, if any (reloaded on SIGHUP and POST /-/reload). */
  configFile: string | undefined;
}

/** What loading reads from the outside world; injected so tests need no real process state. */
export interface ConfigSources {
  /** Command-line arguments after the program name (process.argv.slice(2)). */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole file as UTF-8; throws like fs.readFileSync. */
  readFile(path: string): string;
  /** Lists a directory's entries; throws like fs.readdirSync. */
  readDir(path: string): string[];
}

/** ConfigSources with reads that do not block the event loop: what a reload loads with. */
export interface AsyncConfigSources {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole file as UTF-8; rejects like fs/promises readFile. */
  readFile(path: string): Promise<string>;
  /** Lists a directory's entries; rejects like fs/promises readdir. */
  readDir(path: string): Promise<string[]>;
}

/** What applying a re-read configuration came to: `POST /-/reload` answers with it. */
export interface ReloadOutcome {
  ok: boolean;
  /** One line per problem when the reload was refused. */
  problems: readonly string[];
}
