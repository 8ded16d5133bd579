/**
 * The YAML config file: its schema, built from the settings table (settings.ts) plus the account
 * entries, and loading a file into settings plus a way to name `file:line` of any field. Messages
 * never quote the file's source: a wrong path may name a key file.
 */
import { fileReadDefect } from '../lib/errno.js';
import { list, mapping, parsed, type Issue, type Shape, type Validator } from '../lib/validate.js';
import { loadYaml, nodeAt, withoutTopLevelField } from '../lib/yaml.js';
import { ACCOUNT_NAME, ACCOUNT_NAME_RULE, LIMITS, type PollLimits } from './limits.js';
import { SETTING_LIST, type ListedSetting } from './settings.js';
import type { ConfigSources, Thresholds } from './types.js';
import { kindOf, parsePath, quote } from './values.js';

/**
 * A leaf setting: accepts a string (quoted YAML) or a number (YAML), parses it with `parse`,
 * whose Error message becomes the problem line. Anything else (a mapping, a list, an empty
 * value) is named by kind, never echoed.
 */
function leaf<T>(parse: (raw: string | number) => T, expected: string): Validator<T> {
  return parsed((raw) => {
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(`must be ${expected} (got ${kindOf(raw)})`);
    return parse(raw);
  }, `is not ${expected}`);
}

/** The validator of a setting of the table, under `limits`. */
function settingValidator(setting: ListedSetting, limits: PollLimits): Validator<unknown> {
  return leaf((raw) => setting.parse(raw, limits), setting.expected);
}

const pathValidator = leaf(parsePath, 'a file path');

const accountName = leaf((raw) => {
  const text = String(raw);
  if (!ACCOUNT_NAME.test(text))
    throw new Error(`${quote(text)} is not a valid account name (expected ${ACCOUNT_NAME_RULE})`);
  return text;
}, 'an account name');
const envName = leaf((raw) => {
  const text = String(raw);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(text))
    throw new Error(`${quote(text)} is not an environment variable name`);
  return text;
}, 'an environment variable name');

/** The table's settings that the file may hold, with their place in it. */
const FILE_SETTINGS = SETTING_LIST.flatMap((s) => (s.file === undefined ? [] : [{ ...s, file: s.file }]));

/** A setting's field name in its section (or at the top level). */
const fieldName = (path: readonly string[]): string => path[path.length - 1] as string;

/** What an account entry may set for itself: the per-account settings (the thresholds), by field name. */
function accountThresholdsShape(limits: PollLimits): Shape {
  return Object.fromEntries(
    FILE_SETTINGS.filter((s) => s.perAccount === true).map((s) => [fieldName(s.file), settingValidator(s, limits)]),
  );
}

function accountEntryShape(limits: PollLimits): Shape {
  return {
    name: accountName,
    apiKeyFile: pathValidator,
    apiKeyEnv: envName,
    fromDirectory: pathValidator,
    thresholds: mapping(accountThresholdsShape(limits)),
  };
}

/** The problems of an account entry whose fields are each valid: which fields go together. */
function entryProblems(entry: AccountEntry, problem: (message: string) => void): void {
  const keyFields = [entry.apiKeyFile, entry.apiKeyEnv].filter((v) => v !== undefined).length;
  if (entry.fromDirectory !== undefined) {
    if (entry.name !== undefined || keyFields > 0) {
      problem(
        'fromDirectory cannot be combined with name, apiKeyFile or apiKeyEnv (each file in the directory is one account, named after the file)',
      );
    }
    return;
  }
  if (entry.name === undefined) problem('needs a name (or fromDirectory: a directory with one key file per account)');
  if (keyFields === 0)
    problem('needs apiKeyFile (a file holding the key) or apiKeyEnv (the name of a variable holding it)');
  if (keyFields > 1) problem('has both apiKeyFile and apiKeyEnv; set only one');
}

/**
 * The file's top level: one field per section of the table's settings (`api`, `poll`, ...) or
 * per top-level setting (`shard`), in the table's order, with `accounts` after the `thresholds`
 * its entries override. The order is that of the problem lines and the "expected one of" lists.
 * Each section is given as the shape of its fields, for those lists.
 */
function topLevel(limits: PollLimits): [string, Validator<unknown> | Shape][] {
  const sections = new Map<string, Validator<unknown> | Record<string, Validator<unknown>>>();
  for (const s of FILE_SETTINGS) {
    const validator = settingValidator(s, limits);
    if (s.file.length === 1) {
      sections.set(fieldName(s.file), validator);
      continue;
    }
    const [section] = s.file as [string, string];
    const fields = sections.get(section) ?? {};
    sections.set(section, { ...(fields as Record<string, Validator<unknown>>), [fieldName(s.file)]: validator });
  }
  const entries = [...sections];
  const after = entries.findIndex(([name]) => name === 'thresholds') + 1;
  entries.splice(after, 0, ['accounts', list(mapping(accountEntryShape(limits), entryProblems))]);
  return entries;
}

function fileValidatorWith(limits: PollLimits): FileValidator {
  const shape = Object.fromEntries(
    topLevel(limits).map(([name, value]) => [name, typeof value === 'function' ? value : mapping(value)]),
  );
  return mapping(shape);
}

/** One entry of the file's `accounts`. */
export interface AccountEntry {
  name?: string | undefined;
  apiKeyFile?: string | undefined;
  apiKeyEnv?: string | undefined;
  fromDirectory?: string | undefined;
  thresholds?: Partial<Thresholds> | undefined;
}

/** What a valid file sets: its account entries, and the table's settings at their paths (read with valueAt). */
type FileSettings = { accounts?: AccountEntry[] | undefined } & Record<string, unknown>;

type FileValidator = Validator<FileSettings>;

const fileValidators = new WeakMap<PollLimits, FileValidator>();

/** The file's validator for `limits`, built once per limits object (the product's LIMITS, or a test's). */
function fileValidatorFor(limits: PollLimits): FileValidator {
  let validator = fileValidators.get(limits);
  if (validator === undefined) {
    validator = fileValidatorWith(limits);
    fileValidators.set(limits, validator);
  }
  return validator;
}

/** Known fields per YAML path pattern (list indexes as []), for "unknown field" messages. */
const KNOWN_FIELDS: Readonly<Record<string, readonly string[]>> = (() => {
  const top = topLevel(LIMITS);
  const known: Record<string, readonly string[]> = { '': top.map(([name]) => name) };
  for (const [name, value] of top) if (typeof value !== 'function') known[name] = Object.keys(value);
  known['accounts[]'] = Object.keys(accountEntryShape(LIMITS));
  known['accounts[].thresholds'] = Object.keys(accountThresholdsShape(LIMITS));
  return known;
})();

/** Field names that mean someone tried to put a key into the file. */
const SECRET_FIELD = /(key|keys|token|secret|password|passwd|bearer|credentials?)$/i;
const SECRET_FIELD_MESSAGE =
  'keys never go into config files (config files get committed); name where the key is instead: apiKeyFile: /path/to/key or apiKeyEnv: VARIABLE_NAME';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

export interface LoadedFile {
  path: string;
  settings: FileSettings;
  /** `${path}:${line}: ${yamlPath}` for a YAML path, for messages. */
  at(path: readonly PropertyKey[], key?: string): string;
  /** Settings the file gives with a bad value (`poll.interval`): already reported, not to be defaulted. */
  invalid: ReadonlySet<string>;
  /**
   * The position in the file of each entry of `settings.accounts`, when entries with a problem
   * were left out (absent: every entry was kept, in order). Messages name `accounts[N]` and its
   * line by this, so the entries after a refused one keep their own numbers.
   */
  entryIndexes?: readonly number[];
}

export interface LoadFileOptions {
  /** Bounds of its poll.interval and api.timeout; LIMITS (the product's) when omitted. */
  limits?: PollLimits;
  /**
   * Read the file as if it had no `accounts`: they are neither parsed nor checked. For the health
   * probe, which needs only the settings: with 10,000 entries, parsing them took its peak RSS
   * from 57 to 114-120 MB (67 MB without them). Where the file is not plainly a block mapping the
   * whole file is read.
   */
  withoutAccounts?: boolean;
}

/** Reads and checks the config file. */
export function loadFile(
  path: string,
  where: string,
  sources: Pick<ConfigSources, 'readFile'>,
  problems: string[],
  options: LoadFileOptions = {},
): LoadedFile | undefined {
  const limits = options.limits ?? LIMITS;
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (error) {
    problems.push(`${where}: config file ${path} ${fileReadDefect(error)}`);
    return undefined;
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.fileBytes) {
    problems.push(
      `${where}: config file ${path} is larger than ${LIMITS.fileBytes / 1024 / 1024} MiB (${bytes} bytes)`,
    );
    return undefined;
  }

  const source = options.withoutAccounts === true ? withoutTopLevelField(text, 'accounts') : undefined;
  const yaml = loadYaml(source?.text ?? text, 'the config file', source?.leftOut);
  if (!yaml.ok) {
    problems.push(...yaml.problems.map((p) => `${path}:${p.line}:${p.col}: ${p.message}`));
    return undefined;
  }
  const { doc, lineCounter } = yaml;

  const at = (yamlPath: readonly PropertyKey[], key?: string): string => {
    // A field is reported at its key, which is where a reader looks for it.
    const last = yamlPath[yamlPath.length - 1];
    const node =
      key === undefined && typeof last === 'string'
        ? nodeAt(doc, yamlPath.slice(0, -1), last)
        : nodeAt(doc, yamlPath, key);
    const offset = node?.range?.[0];
    const prefix = offset === undefined ? path : `${path}:${lineCounter.linePos(offset).line}`;
    const full = formatPath(key === undefined ? yamlPath : [...yamlPath, key]);
    return full === '' ? prefix : `${prefix}: ${full}`;
  };

  const raw: unknown = yaml.value ?? {};
  const validator = fileValidatorFor(limits);
  const issues: Issue[] = [];
  const checked = validator(raw, [], issues);
  if (checked.ok && issues.length === 0) return { path, settings: checked.value, at, invalid: new Set() };
  for (const issue of issues) problems.push(...describeIssue(issue, raw, at));
  // Go on with the valid rest, so that the problems further on (accounts, keys, thresholds)
  // are found in the same run: users fix a file once, not in stages.
  const rest = validRest(raw, issues, validator);
  return rest === undefined ? undefined : { path, ...rest, at };
}

/**
 * The settings of `raw` without the parts its issues point at: an account entry with a problem is
 * left out whole, a bad setting is left out (and named in `invalid`, so that it is not taken for
 * unset and compared with defaults), an unknown field is dropped.
 */
function validRest(
  raw: unknown,
  issues: readonly Issue[],
  validator: FileValidator,
): Pick<LoadedFile, 'settings' | 'invalid' | 'entryIndexes'> | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const copy = structuredClone(raw) as Record<string, unknown>;
  const invalid = new Set<string>();
  const badEntries = new Set<number>();
  for (const issue of issues) {
    const [section, index] = issue.path;
    if (section === 'accounts' && typeof index === 'number') {
      badEntries.add(index);
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      const parent = valueAt(copy, issue.path);
      if (parent !== null && typeof parent === 'object')
        for (const key of issue.keys) delete (parent as Record<string, unknown>)[key];
      continue;
    }
    invalid.add(formatPath(issue.path));
    const parent = issue.path.length === 0 ? undefined : valueAt(copy, issue.path.slice(0, -1));
    const last = issue.path[issue.path.length - 1];
    if (parent !== null && typeof parent === 'object' && last !== undefined)
      delete (parent as Record<PropertyKey, unknown>)[last];
  }
  let entryIndexes: number[] | undefined;
  if (Array.isArray(copy.accounts) && badEntries.size > 0) {
    entryIndexes = copy.accounts.flatMap((_entry, i) => (badEntries.has(i) ? [] : [i]));
    copy.accounts = entryIndexes.map((i) => (copy.accounts as unknown[])[i]);
  }
  const left: Issue[] = [];
  const again = validator(copy, [], left);
  return again.ok && left.length === 0 ? { settings: again.value, invalid, entryIndexes } : undefined;
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeIssue(issue: Issue, raw: unknown, at: LoadedFile['at']): string[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const pattern = formatPath(path.map((s) => (typeof s === 'number' ? '[]' : s))).replace(/\.\[\]/g, '[]');
    const known = KNOWN_FIELDS[pattern.replace(/\[\]\[\]/g, '[]')] ?? [];
    return issue.keys.map((key) =>
      SECRET_FIELD.test(key)
        ? `${at(path, key)}: ${SECRET_FIELD_MESSAGE}`
        : `${at(path, key)}: unknown field${known.length > 0 ? ` (expected one of ${known.join(', ')})` : ''}`,
    );
  }
  if (issue.code === 'invalid_type') {
    const got = kindOf(valueAt(raw, path));
    const expected = `a ${issue.expected}`;
    if (path.length === 0) return [`${at(path)}: the top level must be a mapping of settings (got ${got})`];
    return [`${at(path)}: must be ${expected} (got ${got})`];
  }
  return [`${at(path)}: ${issue.message}`];
}
