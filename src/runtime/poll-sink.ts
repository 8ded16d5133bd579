/**
 * Where poll results go: each result updates the account store (which the metrics and the status
 * page read) and is logged. Key changes, shared keys and retries are logged here too, so every log
 * line about polling is written in one file.
 */
import type { AccountStore } from '../state/account-store.js';
import type { AccountConfig } from '../config/types.js';
import { ZexaApiError } from '../zexa/errors.js';
import type { SharedKeyChange } from '../poll/key-tracker.js';
import { keyFingerprint } from '../config/keys.js';
import type { Logger } from '../lib/logger.js';
import type { PollerOptions, PollResult } from '../poll/poller.js';

export type PollSink = Pick<PollerOptions<AccountConfig>, 'onResult' | 'onKeyChange' | 'onRetry'>;

/** Once per change, naming the accounts and the fingerprint, never the key. */
export function logSharedKey(logger: Logger, change: SharedKeyChange): void {
  const fields = { account: change.account, shared_with: change.others, fingerprint: change.fingerprint };
  if (change.shared)
    logger.warn(
      fields,
      'API key shared: another account of this exporter polls with the same key (one key per application or environment)',
    );
  else logger.info(fields, 'API key no longer shared with these accounts');
}

/** Once per account and key: its file is dated in the future, so its age counts from the first read. */
export function logFutureMtime(logger: Logger, event: { account: string; fingerprint: string; mtimeMs: number }): void {
  logger.warn(
    { account: event.account, fingerprint: event.fingerprint, mtime: new Date(event.mtimeMs).toISOString() },
    'key file modification time is in the future: the key age is counted from when the exporter first read this key, and the file date is ignored',
  );
}

export function createPollSink(store: AccountStore, logger: Logger): PollSink {
  const onResult = (result: PollResult): void => {
    if (result.ok) {
      const { credits, currency } = result.credits;
      const { recovered } = store.recordSuccess(result.account, { credits, currency, atMs: result.atMs });
      const fields = { account: result.account, credits, currency, attempts: result.attempts };
      if (recovered) logger.info(fields, 'account recovered');
      else logger.debug(fields, 'poll succeeded');
      return;
    }
    const { error } = result;
    const status = error instanceof ZexaApiError ? error.status : undefined;
    const requestId = error instanceof ZexaApiError ? error.requestId : undefined;
    store.recordFailure(result.account, {
      reason: result.reason,
      message: error.message,
      status,
      requestId,
      attempts: result.attempts,
      atMs: result.atMs,
    });
    logger.warn(
      {
        account: result.account,
        reason: result.reason,
        status,
        request_id: requestId,
        attempts: result.attempts,
        error: error.message,
      },
      'poll failed',
    );
  };
  return {
    onResult,
    onKeyChange: (account, previous, current) =>
      logger.info(
        { account: account.name, previous_key: keyFingerprint(previous), current_key: keyFingerprint(current) },
        'key changed: using the new key',
      ),
    onRetry: (account, info) =>
      logger.debug(
        {
          account: account.name,
          attempt: info.attemptNumber,
          delay_ms: Math.round(info.delayMs),
          error: info.error instanceof Error ? info.error.message : 'error',
        },
        'retrying',
      ),
  };
}
