/**
 * Account discovery: ZEXA_API_KEY* variables, config-file `accounts` entries, and `fromDirectory`
 * folders (one key file per account). Each found account is a candidate that remembers where it
 * was defined; load.ts checks names for duplicates and validates the keys.
 */
import { dirname, resolve as resolvePath, sep } from 'node:path';
import { errorCode, fileReadDefect } from '../lib/errno.js';
import { ACCOUNT_NAME, ACCOUNT_NAME_RULE, DEFAULT_ACCOUNT_NAME, FILE_SUFFIX, KEY_ENV_PREFIX } from './limits.js';
import type { AccountEntry, LoadedFile } from './file.js';
import { ENTRIES_PER_TURN, readDir, ReadFailure, readFiles, turn, type ReadOutcome, type Steps } from './read-steps.js';
import type { AccountConfig, ConfigSources, Thresholds } from './types.js';
import { quote } from './values.js';

/** What discovery reads from and reports to (files and directories are read through steps). */
export interface Discovery {
  sources: Pick<ConfigSources, 'argv' | 'env'>;
  problems: string[];
}

export interface AccountCandidate {
  account: AccountConfig;
  /** Where it was defined, for duplicate messages. */
  definedBy: string;
  /** Its key file's text (or why it could not be read), once read: see readKeyFiles in load.ts. */
  read?: ReadOutcome<string>;
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
      ctx.problems.push(
        `${variable}: not a setting of zexa-exporter (keys go in ${KEY_ENV_PREFIX}, ${KEY_ENV_PREFIX}_FILE or ${KEY_ENV_PREFIX}_<NAME>[_FILE])`,
      );
      continue;
    }
    const isFile = rest.endsWith(FILE_SUFFIX);
    const base = isFile ? rest.slice(0, -FILE_SUFFIX.length) : rest;
    const name = base === '' ? DEFAULT_ACCOUNT_NAME : base.slice(1).toLowerCase();
    if (base !== '' && name === 'file') {
      ctx.problems.push(
        `${variable}: an account cannot be named "file" through the environment ` +
          `(${KEY_ENV_PREFIX}_FILE is the key file of account "${DEFAULT_ACCOUNT_NAME}"); name it in a config file`,
      );
      continue;
    }
    if (!ACCOUNT_NAME.test(name)) {
      ctx.problems.push(
        `${variable}: ${quote(name)} is not a valid account name (expected ${ACCOUNT_NAME_RULE} after ${KEY_ENV_PREFIX}_)`,
      );
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
      ctx.problems.push(
        `${slot.value} and ${slot.file} are both set; set only one (the key itself, or the path of a file holding it)`,
      );
    } else if (slot.file !== undefined) {
      const path = env[slot.file] ?? '';
      if (path === '')
        ctx.problems.push(`${slot.file}: is set but empty (expected the path of a file holding the key)`);
      else
        out.push({
          account: { name, key: { kind: 'file', path, origin: slot.file }, thresholds: { ...thresholds } },
          definedBy: slot.file,
        });
    } else if (slot.value !== undefined) {
      out.push({
        account: { name, key: { kind: 'env', variable: slot.value }, thresholds: { ...thresholds } },
        definedBy: slot.value,
      });
    }
  }
  // `default` first, then by name: a stable order for logs and the status page.
  const rank = (c: AccountCandidate): string => (c.account.name === DEFAULT_ACCOUNT_NAME ? '' : c.account.name);
  return out.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

export function* fileAccounts(ctx: Discovery, file: LoadedFile, thresholds: Thresholds): Steps<AccountCandidate[]> {
  const out: AccountCandidate[] = [];
  const base = dirname(file.path);
  const entries: readonly AccountEntry[] = file.settings.accounts ?? [];
  for (const [i, entry] of entries.entries()) {
    if (i > 0 && i % ENTRIES_PER_TURN === 0) yield* turn();
    // The entry's own number in the file, also when an earlier entry was refused and left out.
    const index = file.entryIndexes?.[i] ?? i;
    const own = entry.thresholds;
    const merged = { warning: own?.warning ?? thresholds.warning, critical: own?.critical ?? thresholds.critical };
    const common =
      own === undefined
        ? {}
        : { own: { ...own, at: file.at(['accounts', index, 'thresholds']), path: `accounts[${index}].thresholds` } };
    if (entry.fromDirectory !== undefined) {
      for (const candidate of yield* directoryAccounts(
        ctx,
        file,
        index,
        resolvePath(base, entry.fromDirectory),
        merged,
        common,
      ))
        out.push(candidate);
      continue;
    }
    if (entry.name === undefined) continue;
    const where = `accounts[${index}]`;
    if (entry.apiKeyFile !== undefined) {
      const origin = `${where}.apiKeyFile in ${file.path}`;
      out.push({
        account: {
          name: entry.name,
          key: { kind: 'file', path: resolvePath(base, entry.apiKeyFile), origin },
          thresholds: merged,
        },
        definedBy: file.at(['accounts', index]),
        ...common,
      });
    } else if (entry.apiKeyEnv !== undefined) {
      out.push({
        account: { name: entry.name, key: { kind: 'env', variable: entry.apiKeyEnv }, thresholds: merged },
        definedBy: file.at(['accounts', index]),
        ...common,
      });
    }
  }
  return out;
}

/**
 * One account per regular file of `dir`, named after the file. Dot entries are skipped:
 * Kubernetes secret volumes hold `..data` and `..2024_…` directories next to the visible
 * entries, which are symlinks into them (reading follows the link).
 */
function* directoryAccounts(
  ctx: Discovery,
  file: LoadedFile,
  index: number,
  dir: string,
  thresholds: Thresholds,
  common: Pick<AccountCandidate, 'own'>,
): Steps<AccountCandidate[]> {
  const where = file.at(['accounts', index, 'fromDirectory']);
  const listed = yield* readDir(dir);
  if (listed instanceof ReadFailure) {
    const code = errorCode(listed.error);
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : fileReadDefect(listed.error);
    ctx.problems.push(`${where}: directory ${dir} ${why}`);
    return [];
  }
  const entries = listed.filter((entry) => !entry.startsWith('.')).sort();
  // Every file is read here, once: the key is validated from this read, and reading every file
  // twice doubled the load time of large directories.
  // `dir` is resolved (absolute, normalized) and an entry is one name: path.join would normalize
  // again, which cost 130 ms per 50,000 entries.
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  const paths = entries.map((entry) => `${prefix}${entry}`);
  const reads = yield* readFiles(paths);
  const out: AccountCandidate[] = [];
  // One string for every account of the directory, not one copy per account.
  const origin = `accounts[${index}].fromDirectory in ${file.path}`;
  for (const [i, entry] of entries.entries()) {
    if (i > 0 && i % ENTRIES_PER_TURN === 0) yield* turn();
    const read = reads[i] as ReadOutcome<string>;
    // Only regular files are accounts; a subdirectory is not one.
    if (read instanceof ReadFailure && errorCode(read.error) === 'EISDIR') continue;
    if (!ACCOUNT_NAME.test(entry)) {
      ctx.problems.push(
        `${where}: file name ${quote(entry)} in ${dir} is not a valid account name (expected ${ACCOUNT_NAME_RULE}; rename the file or move it out)`,
      );
      continue;
    }
    const path = paths[i] as string;
    out.push({
      account: { name: entry, key: { kind: 'file', path, origin }, thresholds: { ...thresholds } },
      definedBy: `${where} (file ${path})`,
      read,
      ...common,
    });
  }
  if (out.length === 0 && !ctx.problems.some((p) => p.startsWith(`${where}:`))) {
    ctx.problems.push(
      `${where}: directory ${dir} holds no key files (expected one file per account, named after the account)`,
    );
  }
  return out;
}
