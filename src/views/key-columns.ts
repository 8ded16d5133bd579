/**
 * What the status page and the JSON API say about an account's key: its fingerprint,
 * how old it is and where it comes from, whether it is due for rotation, and whether another
 * account polls with the same key. Never the key: only what poll/key-tracker.ts recorded.
 *
 * The age of an environment key is the time since this process first read it (it resets at every
 * restart), so only file-sourced keys are ever marked for rotation, as ZexaApiKeyRotationDue does.
 */
import type { KeyInfo } from '../state/account-store.js';
import type { AccountView } from './account-view.js';
import { escapeHtml } from './escape.js';
import { formatDurationSeconds, formatTimestamp } from './format.js';

/** The default of the ZexaApiKeyRotationDue alert: Zexa suggests rotating every quarter. */
const ROTATION_LIMIT_DAYS = 90;
const DAY_MS = 86_400_000;
/** Other accounts named in a shared-key cell; the rest are counted. */
const NAMED_SHARERS = 2;

export interface KeyFacts {
  /** Seconds since the key came into use; undefined while a key file's mtime could not be read. */
  ageSeconds: number | undefined;
  /** A file-sourced key older than {@link ROTATION_LIMIT_DAYS}. */
  rotationDue: boolean;
}

export function keyFacts(key: KeyInfo, nowMs: number): KeyFacts {
  if (key.lastChangeMs === undefined) return { ageSeconds: undefined, rotationDue: false };
  const ageMs = Math.max(0, nowMs - key.lastChangeMs);
  return {
    ageSeconds: Math.floor(ageMs / 1000),
    rotationDue: key.source === 'file' && ageMs > ROTATION_LIMIT_DAYS * DAY_MS,
  };
}

/** `93 d` from a day on (a key's age is counted in days), `5 h 20 min` or `12 min` before. */
export function formatKeyAge(seconds: number): string {
  return seconds >= 86_400 ? `${Math.floor(seconds / 86_400)} d` : formatDurationSeconds(seconds);
}

/** `staging`, `a, b`, `a, b and 3 more`. */
function sharerList(names: readonly string[]): string {
  const named = names.slice(0, NAMED_SHARERS).join(', ');
  return names.length > NAMED_SHARERS ? `${named} and ${names.length - NAMED_SHARERS} more` : named;
}

export function fingerprintCell({ status, sharedWith }: AccountView): string {
  const key = status.key;
  if (key === undefined) return '—';
  const code = `<code>${escapeHtml(key.fingerprint)}</code>`;
  if (!key.shared) return code;
  const others = sharedWith.length === 0 ? 'another account' : sharerList(sharedWith);
  return `${code}<small class="alert">⚠ shared with ${escapeHtml(others)}</small>`;
}

export function keyAgeCell({ status, nowMs }: AccountView): string {
  const key = status.key;
  if (key === undefined) return '—';
  const facts = keyFacts(key, nowMs);
  const source = escapeHtml(key.source);
  if (facts.ageSeconds === undefined) return `unknown<small>${source}</small>`;
  const age = escapeHtml(formatKeyAge(facts.ageSeconds));
  // Counted from the first read: the key is at least this old, not new.
  if (key.mtimeInFuture === true && !facts.rotationDue) return `≥ ${age}<small>${source} · mtime in the future</small>`;
  if (!facts.rotationDue) return `${age}<small>${source}</small>`;
  return `<strong class="alert">⚠ ${age}</strong><small>${source} · rotation due</small>`;
}

/** The Key header's tooltip. */
export const KEY_TITLE =
  "The key's fingerprint: the first 12 hex digits of its SHA-256, never the key. Marked when another account uses the same key.";

/** The Key age header's tooltip: where the age comes from, and the rotation limit. */
export const KEY_AGE_TITLE =
  `Time since the key came into use: a key file's modification time, or for an environment key the time this process first read it (reset by a restart). ` +
  `A key file dated in the future is counted from when this process first read it, marked "≥". ` +
  `File keys older than ${ROTATION_LIMIT_DAYS} days are marked "rotation due".`;

export interface KeyJson {
  fingerprint: string;
  source: 'file' | 'env';
  /** RFC 3339; null while a key file's mtime could not be read. */
  lastChange: string | null;
  ageSeconds: number | null;
  rotationDue: boolean;
  shared: boolean;
  /** The other accounts of this exporter polling with the same key. */
  sharedWith: string[];
}

export function keyJson({ status, sharedWith, nowMs }: AccountView): KeyJson | null {
  const key = status.key;
  if (key === undefined) return null;
  const facts = keyFacts(key, nowMs);
  return {
    fingerprint: key.fingerprint,
    source: key.source,
    lastChange: key.lastChangeMs === undefined ? null : formatTimestamp(key.lastChangeMs),
    ageSeconds: facts.ageSeconds ?? null,
    rotationDue: facts.rotationDue,
    shared: key.shared,
    sharedWith: [...sharedWith],
  };
}
