/**
 * Every default, in the shape of a Config, read from the settings table (settings.ts): the table
 * is where a default is set, this is where code and tests read it by its place in a Config.
 */
import { SETTINGS } from './settings.js';
import { DEFAULT_ACCOUNT_NAME } from './limits.js';
import type { Config, Thresholds } from './types.js';

// The bounds live in limits.ts; existing importers still find these here.
export { LIMITS, MAX_SHARD_COUNT, type PollLimits } from './limits.js';

/** Every default, in one place. */
export const DEFAULTS = {
  api: { url: SETTINGS.url.default, timeoutMs: SETTINGS.timeout.default },
  poll: {
    intervalMs: SETTINGS.interval.default,
    maxConcurrency: SETTINGS.maxConcurrency.default,
    maxAttempts: SETTINGS.maxAttempts.default,
    maxRequestsPerSecond: SETTINGS.maxRequestsPerSecond.default,
  },
  thresholds: { warning: SETTINGS.warning.default, critical: SETTINGS.critical.default },
  web: {
    listenAddress: SETTINGS.listenAddress.default.text,
    configFile: SETTINGS.webConfigFile.default,
    maxConnections: SETTINGS.maxConnections.default,
    maxConnectionsPerAddress: SETTINGS.maxConnectionsPerAddress.default,
  },
  log: { level: SETTINGS.logLevel.default },
  check: { timeoutMs: SETTINGS.checkTimeout.default },
  shard: SETTINGS.shard.default,
  configFile: SETTINGS.configFile.default,
  accountName: DEFAULT_ACCOUNT_NAME,
} as const satisfies {
  api: Config['api'];
  poll: Config['poll'];
  thresholds: Thresholds;
  web: Pick<Config['web'], 'listenAddress' | 'configFile' | 'maxConnections' | 'maxConnectionsPerAddress'>;
  log: Config['log'];
  check: Config['check'];
  shard: Config['shard'];
  configFile: Config['configFile'];
  accountName: string;
};
