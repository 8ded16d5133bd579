/**
 * What `zexa-exporter check --config.check` prints about a valid configuration: each account, the
 * source of its key, and the key's fingerprint (so a CI step can see two accounts pasted with one
 * key before anything is deployed). No request is made.
 */
import type { AccountConfig, Config } from '../config/types.js';
import { formatDurationMs } from '../config/values.js';
import { keyFingerprint } from '../config/keys.js';
import type { CheckOutput } from './args.js';
import { renderTable } from './report.js';

/** One account in `--config.check --output=json`. */
interface ConfigCheckRow {
  account: string;
  key_source: 'file' | 'env';
  /** The environment variable or the file path. */
  key_location: string;
  /** Where the file path was set (flag, variable or `file:line`); null for environment keys. */
  key_origin: string | null;
  key_fingerprint: string | null;
  key_shared_with: string[];
  warning: number;
  critical: number;
}

function rows(accounts: readonly AccountConfig[], readKey: (account: AccountConfig) => string): ConfigCheckRow[] {
  const fingerprints = new Map<string, string | null>();
  for (const account of accounts) {
    let fingerprint: string | null = null;
    try {
      fingerprint = keyFingerprint(readKey(account));
    } catch {
      // loadConfig read every key a moment ago; one that vanished since shows no fingerprint.
    }
    fingerprints.set(account.name, fingerprint);
  }
  const byFingerprint = new Map<string, string[]>();
  for (const [name, fingerprint] of fingerprints) {
    if (fingerprint !== null) byFingerprint.set(fingerprint, [...(byFingerprint.get(fingerprint) ?? []), name]);
  }
  return accounts.map((account) => {
    const fingerprint = fingerprints.get(account.name) ?? null;
    return {
      account: account.name,
      key_source: account.key.kind,
      key_location: account.key.kind === 'env' ? account.key.variable : account.key.path,
      key_origin: account.key.kind === 'env' ? null : account.key.origin,
      key_fingerprint: fingerprint,
      key_shared_with:
        fingerprint === null ? [] : (byFingerprint.get(fingerprint) ?? []).filter((n) => n !== account.name),
      warning: account.thresholds.warning,
      critical: account.thresholds.critical,
    };
  });
}

/** `, shard 0/2 (the other shards hold 3 of the 6 accounts)`; '' without a shard. */
function shardText(config: Config, polled: number): string {
  if (config.shard === undefined) return '';
  const others = config.accounts.length - polled;
  return `, shard ${config.shard.index}/${config.shard.count} (the other shards hold ${others} of the ${config.accounts.length} accounts)`;
}

/**
 * @param accounts what this replica polls: the configuration's accounts, or its shard's. A key
 * shared across shards is not seen here: each replica compares the keys it holds.
 */
export function describeConfig(
  config: Config,
  accounts: readonly AccountConfig[],
  output: CheckOutput,
  readKey: (account: AccountConfig) => string,
): string {
  const list = rows(accounts, readKey);
  if (output === 'json') return `${JSON.stringify(list, null, 2)}\n`;
  const lines = [
    `configuration is valid: ${accounts.length} account${accounts.length === 1 ? '' : 's'}` +
      `${config.configFile === undefined ? '' : ` (config file ${config.configFile})`}, API ${config.api.url}, ` +
      `poll interval ${formatDurationMs(config.poll.intervalMs)}${shardText(config, accounts.length)}; no request was made`,
    '',
  ];
  const table = renderTable(
    ['account', 'key source', 'key fingerprint', 'warning/critical', 'note'],
    list.map((r) => [
      r.account,
      r.key_source === 'env' ? `env ${r.key_location}` : `file ${r.key_location} (from ${r.key_origin ?? '?'})`,
      r.key_fingerprint ?? '-',
      `${r.warning}/${r.critical}`,
      r.key_shared_with.length === 0 ? '' : `key shared with ${r.key_shared_with.join(', ')}`,
    ]),
  );
  return `${lines.join('\n')}\n${table}`;
}
