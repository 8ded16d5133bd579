/**
 * Account discovery: ZEXA_API_KEY* variables, config-file `accounts` entries, and `fromDirectory`
 * folders (one key file per account). Each found account is a candidate that remembers where it
 * was defined; load.ts checks names for duplicates and validates the keys.
 */
import { dirname, join, resolve as resolvePath } from 'node:path';
import { errorCode, fileReadDefect } from '../lib/errno.js';
import { ACCOUNT_NAME, ACCOUNT_NAME_RULE, DEFAULTS, FILE_SUFFIX, KEY_ENV_PREFIX } from './defaults.js';
import type { AccountEntry, LoadedFile } from './file.js';
import type { AccountConfig, ConfigSources, Thresholds } from './types.js';
import { quote } from './values.js';

/** What discovery reads from and reports to. */
export interface Discovery {
  sources: ConfigSources;
  problems: string[];
}

export interface AccountCandidate {
  account: AccountConfig;
  /** Where it was defined, for duplicate messages. */
  definedBy: string;
  /** Reads its key file when the file was already read while listing a directory. */
  readFile?: (path: string) => string;
  /** The thresholds its config-file entry sets, if any, and where. */
  own?: { warning?: number | undefined; critical?: number | undefined; at: string; path: string };
}

/** Every ZEXA_API_KEY* variable that is set and not claimed by a config-file account. */
export function keyVariables(env: ConfigSources['env'], claimed: ReadonlySet<string>): string[] {
  return Object.keys(env)
    .filter((v) => v.startsWith(KEY_ENV_PREFIX) && env[v] !== undefined && !claimed.has(v))
    .sort();
}

export function envAccounts(ctx: Discovery, variables: readonly string[], thresholds: Thresholds): AccountCandidate[] {
  const env = ctx.sources.env;
  // Keyed by the variable without _FILE, so ZEXA_API_KEY_X and ZEXA_API_KEY_X_FILE meet.
  const found = new Map<string, { name: string; value?: string; file?: string }>();
  for (const variable of variables) {
    const rest = variable.slice(KEY_ENV_PREFIX.length);
    if (rest !== '' && !rest.startsWith('_')) {
      ctx.problems.push(`${variable}: not a setting of zexa-exporter (keys go in ${KEY_ENV_PREFIX}, ${KEY_ENV_PREFIX}_FILE or ${KEY_ENV_PREFIX}_<NAME>[_FILE])`);
      continue;
    }
    const isFile = rest.endsWith(FILE_SUFFIX);
    const base = isFile ? rest.slice(0, -FILE_SUFFIX.length) : rest;
    const name = base === '' ? DEFAULTS.accountName : base.slice(1).toLowerCase();
    if (base !== '' && name === 'file') {
      ctx.problems.push(
        `${variable}: an account cannot be named "file" through the environment ` +
          `(${KEY_ENV_PREFIX}_FILE is the key file of account "${DEFAULTS.accountName}"); name it in a config file`,
      );
      continue;
    }
    if (!ACCOUNT_NAME.test(name)) {
      ctx.problems.push(`${variable}: ${quote(name)} is not a valid account name (expected ${ACCOUNT_NAME_RULE} after ${KEY_ENV_PREFIX}_)`);
      continue;
    }
    const id = KEY_ENV_PREFIX + base;
    const slot = found.get(id) ?? { name };
    if (isFile) slot.file = variable;
    else slot.value = variable;
    found.set(id, slot);
  }

  const out: AccountCandidate[] = [];
  for (const slot of found.values()) {
    const { name } = slot;
    if (slot.value !== undefined && slot.file !== undefined) {
      ctx.problems.push(`${slot.value} and ${slot.file} are both set; set only one (the key itself, or the path of a file holding it)`);
    } else if (slot.file !== undefined) {
      const path = env[slot.file] ?? '';
      if (path === '') ctx.problems.push(`${slot.file}: is set but empty (expected the path of a file holding the key)`);
      else out.push({ account: { name, key: { kind: 'file', path, origin: slot.file }, thresholds: { ...thresholds } }, definedBy: slot.file });
    } else if (slot.value !== undefined) {
      out.push({ account: { name, key: { kind: 'env', variable: slot.value }, thresholds: { ...thresholds } }, definedBy: slot.value });
    }
  }
  // `default` first, then by name: a stable order for logs and the status page.
  const rank = (c: AccountCandidate): string => (c.account.name === DEFAULTS.accountName ? '' : c.account.name);
  return out.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

export function fileAccounts(ctx: Discovery, file: LoadedFile, thresholds: Thresholds): AccountCandidate[] {
  const out: AccountCandidate[] = [];
  const base = dirname(file.path);
  (file.settings.accounts ?? []).forEach((entry: AccountEntry, index) => {
    const own = entry.thresholds;
    const merged = { warning: own?.warning ?? thresholds.warning, critical: own?.critical ?? thresholds.critical };
    const common = own === undefined ? {} : { own: { ...own, at: file.at(['accounts', index, 'thresholds']), path: `accounts[${index}].thresholds` } };
    if (entry.fromDirectory !== undefined) {
      out.push(...directoryAccounts(ctx, file, index, resolvePath(base, entry.fromDirectory), merged, common));
      return;
    }
    if (entry.name === undefined) return;
    const where = `accounts[${index}]`;
    if (entry.apiKeyFile !== undefined) {
      const origin = `${where}.apiKeyFile in ${file.path}`;
      out.push({ account: { name: entry.name, key: { kind: 'file', path: resolvePath(base, entry.apiKeyFile), origin }, thresholds: merged }, definedBy: file.at(['accounts', index]), ...common });
    } else if (entry.apiKeyEnv !== undefined) {
      out.push({ account: { name: entry.name, key: { kind: 'env', variable: entry.apiKeyEnv }, thresholds: merged }, definedBy: file.at(['accounts', index]), ...common });
    }
  });
  return out;
}

/**
 * One account per regular file of `dir`, named after the file. Dot entries are skipped:
 * Kubernetes secret volumes hold `..data` and `..2024_…` directories next to the visible
 * entries, which are symlinks into them (reading follows the link).
 */
function directoryAccounts(
  ctx: Discovery,
  file: LoadedFile,
  index: number,
  dir: string,
  thresholds: Thresholds,
  common: Pick<AccountCandidate, 'own'>,
): AccountCandidate[] {
  const where = file.at(['accounts', index, 'fromDirectory']);
  let entries: string[];
  try {
    entries = ctx.sources.readDir(dir);
  } catch (error) {
    const code = errorCode(error);
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : fileReadDefect(error);
    ctx.problems.push(`${where}: directory ${dir} ${why}`);
    return [];
  }
  const out: AccountCandidate[] = [];
  // One string for every account of the directory, not one copy per account.
  const origin = `accounts[${index}].fromDirectory in ${file.path}`;
  for (const entry of [...entries].sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    let text: string | undefined;
    let readError: unknown;
    try {
      text = ctx.sources.readFile(path);
    } catch (error) {
      // Only regular files are accounts; a subdirectory is not one.
      if (errorCode(error) === 'EISDIR') continue;
      readError = error;
    }
    if (!ACCOUNT_NAME.test(entry)) {
      ctx.problems.push(`${where}: file name ${quote(entry)} in ${dir} is not a valid account name (expected ${ACCOUNT_NAME_RULE}; rename the file or move it out)`);
      continue;
    }
    // The key is validated from this read: reading every file twice doubles the load time of large directories.
    const readOnce = (): string => {
      if (text === undefined) throw readError;
      return text;
    };
    out.push({ account: { name: entry, key: { kind: 'file', path, origin }, thresholds: { ...thresholds } }, definedBy: `${where} (file ${path})`, readFile: readOnce, ...common });
  }
  if (out.length === 0 && !ctx.problems.some((p) => p.startsWith(`${where}:`))) {
    ctx.problems.push(`${where}: directory ${dir} holds no key files (expected one file per account, named after the account)`);
  }
  return out;
}
