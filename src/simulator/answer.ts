/**
 * Deciding what one request gets, apart from writing it: routing, faults, authentication and the
 * balance, in the order a real API gateway applies them. No I/O here; server.ts writes the answer.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Account, AccountBook } from './accounts.js';
import { parseAuthorization, type ParsedAuthorization } from './auth.js';
import type { FaultSlot } from './faults.js';
import {
  AUTH_MESSAGES,
  creditsBody,
  errorBody,
  hugeBodyParts,
  httpDate,
  invalidJsonBody,
  missingCreditsBody,
  stringCreditsBody,
} from './responses.js';
import type { SimAuthorization, SimFault, SimRequestRecord } from './types.js';

export const CREDITS_PATH = '/v1/credits';

export type Answer =
  | { kind: 'complete'; status: number; headers: OutgoingHttpHeaders; body: string }
  /** 200 whose body is streamed: `head`, `fill` bytes of padding, `tail`. */
  | { kind: 'huge'; headers: OutgoingHttpHeaders; head: Buffer; fill: number; tail: Buffer }
  /** 200 headers announcing `body`, then only part of it, then the connection is destroyed. */
  | { kind: 'reset'; headers: OutgoingHttpHeaders; body: string }
  | { kind: 'hang' };

export interface Decision {
  answer: Answer;
  delayMs: number;
  record: SimRequestRecord;
}

export interface RequestFacts {
  method: string | undefined;
  /** Path without the query string. */
  path: string;
  authorization: string | undefined;
}

export interface DecideContext {
  book: AccountBook;
  globalFault: FaultSlot;
  latencyMs: number;
  requestId: string;
  now: number;
}

function jsonHeaders(ctx: DecideContext, body: string): OutgoingHttpHeaders {
  return {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': ctx.requestId,
    date: httpDate(ctx.now),
  };
}

function json(ctx: DecideContext, status: number, body: string, extra: OutgoingHttpHeaders = {}): Answer {
  return { kind: 'complete', status, headers: { ...jsonHeaders(ctx, body), ...extra }, body };
}

function error(ctx: DecideContext, status: number, extra: OutgoingHttpHeaders = {}, message?: string): Answer {
  return json(ctx, status, errorBody(status, ctx.requestId, message), extra);
}

function retryAfterHeader(fault: Extract<SimFault, { kind: 'rate_limited' }>): OutgoingHttpHeaders {
  const retryAfter = fault.retryAfter;
  if (retryAfter === undefined) return {};
  return { 'retry-after': 'seconds' in retryAfter ? String(retryAfter.seconds) : httpDate(retryAfter.date.getTime()) };
}

/** The answer a firing fault replaces the normal one with; `slow` never gets here. */
function faultAnswer(
  ctx: DecideContext,
  fault: Exclude<SimFault, { kind: 'slow' }>,
  account: Account | undefined,
): Answer {
  const credits = account === undefined ? 0 : ctx.book.credits(account);
  const currency = account?.currency ?? 'USD';
  switch (fault.kind) {
    case 'server_error': {
      const retryAfter = fault.retryAfterSeconds;
      return error(ctx, fault.status ?? 500, retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
    }
    case 'flaky':
      return error(ctx, fault.status ?? 503);
    case 'rate_limited':
      return error(ctx, 429, retryAfterHeader(fault));
    case 'bad_request':
      return error(ctx, fault.status ?? 400);
    case 'hang':
      return { kind: 'hang' };
    case 'reset': {
      const body = creditsBody(credits, currency);
      return { kind: 'reset', headers: jsonHeaders(ctx, body), body };
    }
    case 'invalid_json':
      return json(ctx, 200, invalidJsonBody(credits));
    case 'missing_credits':
      return json(ctx, 200, missingCreditsBody(currency));
    case 'string_credits':
      return json(ctx, 200, stringCreditsBody(credits, currency));
    case 'huge_body': {
      const parts = hugeBodyParts(fault.bytes, credits, currency);
      const headers = { ...jsonHeaders(ctx, ''), 'content-length': fault.bytes };
      return { kind: 'huge', headers, ...parts };
    }
  }
}

function recordStatus(answer: Answer): SimRequestRecord['status'] {
  switch (answer.kind) {
    case 'complete':
      return answer.status;
    case 'huge':
      return 200;
    case 'reset':
    case 'hang':
      return answer.kind;
  }
}

function unauthorized(ctx: DecideContext, message: string, problem?: 'invalid_request' | 'invalid_token'): Answer {
  // RFC 6750 §3: no error attribute when the request carried no credentials at all.
  const challenge = problem === undefined ? 'Bearer realm="zexa"' : `Bearer realm="zexa", error="${problem}"`;
  return error(ctx, 401, { 'www-authenticate': challenge }, message);
}

/** The answer without any fault: authentication, then the plan, then the balance. */
function normalAnswer(ctx: DecideContext, auth: ParsedAuthorization['kind'], account: Account | undefined): Answer {
  if (auth === 'missing') return unauthorized(ctx, AUTH_MESSAGES.missing);
  if (auth === 'malformed') return unauthorized(ctx, AUTH_MESSAGES.malformed, 'invalid_request');
  if (account === undefined || account.revoked) return unauthorized(ctx, AUTH_MESSAGES.rejected, 'invalid_token');
  if (account.forbidden) return error(ctx, 403);
  const answer = json(ctx, 200, creditsBody(ctx.book.credits(account), account.currency));
  ctx.book.chargeRequest(account);
  return answer;
}

export function decide(facts: RequestFacts, ctx: DecideContext): Decision {
  const parsed = parseAuthorization(facts.authorization);
  const account = parsed.kind === 'bearer' ? ctx.book.byBearerKey(parsed.key) : undefined;
  const authorization: SimAuthorization =
    parsed.kind === 'bearer' ? (account === undefined ? 'unknown_key' : 'ok') : parsed.kind;

  let delayMs = ctx.latencyMs;
  let answer: Answer | undefined;

  if (facts.path !== CREDITS_PATH) {
    answer = error(ctx, 404);
  } else if (facts.method !== 'GET' && facts.method !== 'HEAD') {
    answer = error(ctx, 405, { allow: 'GET, HEAD' });
  } else {
    for (const slot of account === undefined ? [ctx.globalFault] : [ctx.globalFault, account.fault]) {
      const fault = slot.take();
      if (fault === undefined) continue;
      if (fault.kind === 'slow') {
        delayMs += fault.delayMs;
        continue;
      }
      answer = faultAnswer(ctx, fault, account);
      break;
    }
  }

  answer ??= normalAnswer(ctx, parsed.kind, account);
  return {
    answer,
    delayMs,
    record: {
      account: account?.name,
      at: ctx.now,
      status: recordStatus(answer),
      authorization,
      requestId: ctx.requestId,
    },
  };
}
