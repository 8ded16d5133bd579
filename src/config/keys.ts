/**
 * API keys at poll time: reading an account's key from its source, what makes a key unusable
 * (the character rule is the client's, in zexa/bearer.ts), and fingerprints.
 * No message built here ever contains a key.
 */
import { createHash } from 'node:crypto';
import { LIMITS } from './limits.js';
import type { AccountConfig, ConfigSources } from './types.js';
import { KeyUnavailableError, TooManyOpenFilesError } from '../zexa/errors.js';
import { fileReadDefect, outOfDescriptors } from '../lib/errno.js';
import { isSendableKey } from '../zexa/bearer.js';

/** First 12 hex digits of the key's SHA-256: enough to tell keys apart in a log, useless to an attacker. */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12);
}

/** Why `key` is unusable, or undefined when it is fine. Never includes the key. */
function keyDefect(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (key.length > LIMITS.keyChars) return `is longer than ${LIMITS.keyChars} characters; it does not hold just a key`;
  if (!isSendableKey(key)) return 'contains whitespace, control or non-ASCII characters';
  return undefined;
}

function describeKeySource(account: AccountConfig): string {
  return account.key.kind === 'env'
    ? `environment variable ${account.key.variable} (key of account "${account.name}")`
    : `key file ${account.key.path} of account "${account.name}" (from ${account.key.origin})`;
}

/** A key file's text as a key: ONE trailing newline (`\n` or `\r\n`) dropped, which editors and `echo` add. */
function keyFromFile(text: string): string {
  const key = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  return key !== '' && key.trim() === '' ? '' : key;
}

/** The key of an `env` source, or the text of a `file` source turned into a key; checked against the rule. */
function checkedKey(account: AccountConfig, key: string | undefined): string {
  const where = describeKeySource(account);
  if (key === undefined) throw new KeyUnavailableError(`${where} is not set`);
  const defect = keyDefect(key);
  if (defect !== undefined) {
    const hint =
      account.key.kind === 'file' && defect.startsWith('contains') ? ' (only one trailing newline is allowed)' : '';
    throw new KeyUnavailableError(`${where} ${defect}${hint}`);
  }
  return key;
}

function unreadable(account: AccountConfig, error: unknown): KeyUnavailableError | TooManyOpenFilesError {
  const message = `${describeKeySource(account)} ${fileReadDefect(error)}`;
  if (outOfDescriptors(error) !== undefined) return new TooManyOpenFilesError(message, { cause: error });
  return new KeyUnavailableError(message, { cause: error });
}

/**
 * Reads an account's key now (the loader uses it to validate keys). Key files are read at every
 * call, so a rotated key is picked up at the next poll. Throws KeyUnavailableError, whose message
 * names the file or variable and never the key, when the source is missing, unreadable, empty,
 * or the key holds whitespace or control characters.
 */
export function readAccountKey(
  account: AccountConfig,
  env: ConfigSources['env'],
  readFile: (p: string) => string,
): string {
  if (account.key.kind === 'env') return checkedKey(account, env[account.key.variable]);
  let text: string;
  try {
    text = readFile(account.key.path);
  } catch (error) {
    throw unreadable(account, error);
  }
  return checkedKey(account, keyFromFile(text));
}

/** readAccountKey for poll time: the file is read without blocking the event loop. */
export async function readAccountKeyAsync(
  account: AccountConfig,
  env: ConfigSources['env'],
  readFile: (p: string) => Promise<string>,
): Promise<string> {
  if (account.key.kind === 'env') return checkedKey(account, env[account.key.variable]);
  let text: string;
  try {
    text = await readFile(account.key.path);
  } catch (error) {
    throw unreadable(account, error);
  }
  return checkedKey(account, keyFromFile(text));
}
