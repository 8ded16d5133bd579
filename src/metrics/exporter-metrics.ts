/**
 * Every `zexa_` metric's name, help, type and labels, in one place, and the text they are
 * exposed as.
 *
 * The per-account families change only when a poll of that account finishes, so each block of
 * accounts is rendered to UTF-8 bytes once per change and cached, and shared by both exposition
 * formats (text 0.0.4 and OpenMetrics differ only in their metadata lines, metrics/exposition.ts); a scrape writes the cached
 * buffers as they are instead of walking prom-client's label maps (which costs ~345 ms at 10,000
 * accounts). The gzip of the whole, too, is reused while nothing changed at all. prom-client
 * keeps the process metrics in the exporter's own Registry (never the global one); they are cheap
 * and stay live on every scrape.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AccountStatus, AccountStore } from '../state/account-store.js';
import { escapeLabelValue, formatValue, metadata, type ExpositionFormat } from './exposition.js';
import {
  BLOCKS_PER_SLICE,
  encodeLines,
  nextTurn,
  piece,
  rendered,
  type Piece,
  type RenderedMetrics,
} from './rendered.js';

export type { RenderedMetrics } from './rendered.js';
export { escapeLabelValue, formatValue } from './exposition.js';

type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricDefinition {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
}

function define(name: string, type: MetricType, labels: readonly string[], help: string): MetricDefinition {
  return { name, type, labels, help };
}

/** The metric contract. Dashboards and alert rules are built on these names: never rename. */
export const METRICS = {
  creditsRemaining: define(
    'zexa_credits_remaining',
    'gauge',
    ['account', 'currency'],
    'Message credits left on the account, from the latest successful poll of GET /v1/credits (kept while later polls fail).',
  ),
  creditsThreshold: define(
    'zexa_credits_threshold',
    'gauge',
    ['account', 'severity'],
    'Configured credit threshold of the account by severity (warning, critical), for comparison with the polled balance.',
  ),
  up: define(
    'zexa_up',
    'gauge',
    ['account'],
    "Whether the latest poll of the account's credits succeeded (1) or failed (0).",
  ),
  lastSuccess: define(
    'zexa_last_success_timestamp_seconds',
    'gauge',
    ['account'],
    "Unix time of the latest successful poll of the account's credits.",
  ),
  authErrors: define(
    'zexa_auth_errors_total',
    'counter',
    ['account', 'code'],
    "Polls of the account's credits rejected by authentication (401) or authorisation (403).",
  ),
  pollErrors: define(
    'zexa_poll_errors_total',
    'counter',
    ['account', 'reason'],
    "Polls of the account's credits that failed after retries, by reason.",
  ),
  consumed: define(
    'zexa_credits_consumed_total',
    'counter',
    ['account'],
    "Sum of balance decreases between successive polls of the account's credits.",
  ),
  added: define(
    'zexa_credits_added_total',
    'counter',
    ['account'],
    "Sum of balance increases (top-ups) between successive polls of the account's credits.",
  ),
  apiKeyInfo: define(
    'zexa_api_key_info',
    'gauge',
    ['account', 'fingerprint'],
    "A metric with a constant 1 value labelled by the fingerprint of the account's API key: the first 12 hex digits of its SHA-256, which change when the key changes.",
  ),
  apiKeyLastChange: define(
    'zexa_api_key_last_change_timestamp_seconds',
    'gauge',
    ['account', 'source'],
    'Unix time the account\'s API key came into use: the key file\'s mtime (source="file"), or when this process first read the environment variable (source="env"; resets on restart).',
  ),
  apiKeyShared: define(
    'zexa_api_key_shared',
    'gauge',
    ['account'],
    'Whether another account of this exporter polls with the same API key, by fingerprint (1) or not (0).',
  ),
  apiRequests: define(
    'zexa_api_requests_total',
    'counter',
    ['code'],
    'HTTP requests made to the Zexa API while polling, by status code (error when no response came).',
  ),
  apiDuration: define(
    'zexa_api_request_duration_seconds',
    'histogram',
    [],
    'Duration of each HTTP request made to the Zexa API while polling.',
  ),
  buildInfo: define(
    'zexa_exporter_build_info',
    'gauge',
    ['version', 'nodejs_version'],
    "A metric with a constant 1 value labelled by the exporter's version and the Node.js version it runs on.",
  ),
  reloadSuccessful: define(
    'zexa_exporter_config_last_reload_successful',
    'gauge',
    [],
    'Whether the last configuration reload attempt was successful.',
  ),
  reloadTimestamp: define(
    'zexa_exporter_config_last_reload_success_timestamp_seconds',
    'gauge',
    [],
    'Unix time of the last successful configuration reload.',
  ),
  httpClientErrors: define(
    'zexa_exporter_http_client_errors_total',
    'counter',
    ['code'],
    'Requests to the exporter refused as client errors (a malformed path or request), by HTTP status code; counted here instead of logged one by one.',
  ),
  shardInfo: define(
    'zexa_exporter_shard_info',
    'gauge',
    ['index', 'count'],
    'A metric with a constant 1 value telling which shard of the accounts this replica polls.',
  ),
} as const;

/** Buckets for one request to the API: sub-second is normal, the timeout caps the top. */
const DURATION_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

function header(def: MetricDefinition, format: ExpositionFormat): string {
  return metadata(def.name, def.type, def.help, format);
}

/** The per-account families, in exposition order, each rendering one account's lines under its name `n`. */
const ACCOUNT_FAMILIES: readonly [MetricDefinition, (name: string, s: AccountStatus, a: string) => string][] = [
  [
    METRICS.creditsRemaining,
    (n, s, a) =>
      s.balance === undefined
        ? ''
        : `${n}{account="${a}",currency="${escapeLabelValue(s.balance.currency)}"} ${formatValue(s.balance.credits)}\n`,
  ],
  [
    METRICS.creditsThreshold,
    (n, s, a) =>
      `${n}{account="${a}",severity="critical"} ${formatValue(s.thresholds.critical)}\n` +
      `${n}{account="${a}",severity="warning"} ${formatValue(s.thresholds.warning)}\n`,
  ],
  [METRICS.up, (n, s, a) => `${n}{account="${a}"} ${s.up ? 1 : 0}\n`],
  [
    METRICS.lastSuccess,
    (n, s, a) => (s.lastSuccessMs === undefined ? '' : `${n}{account="${a}"} ${formatValue(s.lastSuccessMs / 1000)}\n`),
  ],
  [
    METRICS.authErrors,
    (n, s, a) =>
      `${n}{account="${a}",code="401"} ${s.authErrors['401']}\n` +
      `${n}{account="${a}",code="403"} ${s.authErrors['403']}\n`,
  ],
  [
    METRICS.pollErrors,
    (n, s, a) => {
      let out = '';
      for (const reason of [...s.pollErrors.keys()].sort()) {
        out += `${n}{account="${a}",reason="${reason}"} ${s.pollErrors.get(reason) ?? 0}\n`;
      }
      return out;
    },
  ],
  [METRICS.consumed, (n, s, a) => `${n}{account="${a}"} ${formatValue(s.consumedTotal)}\n`],
  [METRICS.added, (n, s, a) => `${n}{account="${a}"} ${formatValue(s.addedTotal)}\n`],
  // The key families appear once the account's key has been read (at its first poll).
  [
    METRICS.apiKeyInfo,
    (n, s, a) => (s.key === undefined ? '' : `${n}{account="${a}",fingerprint="${s.key.fingerprint}"} 1\n`),
  ],
  [
    METRICS.apiKeyLastChange,
    (n, s, a) =>
      s.key?.lastChangeMs === undefined
        ? ''
        : `${n}{account="${a}",source="${s.key.source}"} ${formatValue(s.key.lastChangeMs / 1000)}\n`,
  ],
  [METRICS.apiKeyShared, (n, s, a) => (s.key === undefined ? '' : `${n}{account="${a}"} ${s.key.shared ? 1 : 0}\n`)],
];

/**
 * Accounts per cached block. A poll re-renders only its block; a scrape joins ~80 blocks per
 * family instead of 10,000 accounts' lines, and each block's gzip member is kept until the block
 * changes. Small enough that re-rendering a block is cheap, big enough that the per-member
 * overhead of gzip (header, lost dictionary) stays small.
 */
const BLOCK_SIZE = 128;

/**
 * One block of consecutive accounts (by name): each family's lines as UTF-8 bytes, and their gzip
 * members. Only the bytes are kept, not the strings they were encoded from: at 10,000 accounts
 * that is 5 MB less to hold.
 */
interface Block {
  statuses: AccountStatus[];
  versions: number[];
  bodies: Buffer[];
  gzipped: (Buffer | undefined)[];
}

export interface ExporterMetricsOptions {
  version: string;
  nodeVersion: string;
  /** Registry for the process metrics; a fresh one is made when omitted. Never the global one. */
  registry?: Registry;
  /** Collect prom-client's default process metrics into the registry (default true). */
  processMetrics?: boolean;
  /** Waits a turn of the event loop between slices of a render (default: `setImmediate`). */
  yieldTurn?: () => Promise<void>;
}

export class ExporterMetrics {
  readonly registry: Registry;
  private readonly store: AccountStore;
  private readonly buildInfoLine: string;
  private blocks: Block[] = [];
  /** HELP/TYPE headers never change: their bytes and gzip member are made once. */
  private readonly headerPieces = new Map<string, Piece>();
  private readonly requestsByCode = new Map<string, number>();
  private readonly clientErrorsByCode = new Map<string, number>();
  private readonly bucketCounts: number[] = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private durationCount = 0;
  private reload: { successful: boolean; successMs: number | undefined } = { successful: true, successMs: undefined };
  private shard: { index: number; count: number } | undefined;
  /** Bumped by changes that are not account changes (requests, reloads, shard). */
  private ownVersion = 0;
  private renderedKey = '';
  /** What each format rendered at `renderedKey`; the block buffers inside are shared. */
  private rendered: Partial<Record<ExpositionFormat, RenderedMetrics>> = {};
  /** Renders in progress (in slices), shared by every scrape that comes while they run. */
  private readonly rendering: Partial<Record<ExpositionFormat, Promise<RenderedMetrics>>> = {};
  /** Turns of the event loop between slices of a render. */
  private readonly yieldTurn: () => Promise<void>;

  constructor(store: AccountStore, options: ExporterMetricsOptions) {
    this.store = store;
    this.yieldTurn = options.yieldTurn ?? nextTurn;
    this.registry = options.registry ?? new Registry();
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.buildInfoLine = `${METRICS.buildInfo.name}{version="${escapeLabelValue(options.version)}",nodejs_version="${escapeLabelValue(options.nodeVersion)}"} 1\n`;
  }

  /** One HTTP attempt to the API: `code` is the status, or 'error' when no response came. */
  observeRequest(code: string, durationSeconds: number): void {
    this.requestsByCode.set(code, (this.requestsByCode.get(code) ?? 0) + 1);
    // Buckets are cumulative: an observation counts in every bucket whose bound it fits under.
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (durationSeconds <= (DURATION_BUCKETS[i] as number)) (this.bucketCounts[i] as number)++;
    }
    this.durationSum += durationSeconds;
    this.durationCount++;
    this.ownVersion++;
  }

  /** One request to the exporter refused with `code` (4xx) as the client's fault. */
  countClientError(code: number): void {
    const label = String(code);
    this.clientErrorsByCode.set(label, (this.clientErrorsByCode.get(label) ?? 0) + 1);
    this.ownVersion++;
  }

  setReloadResult(successful: boolean, atMs: number): void {
    this.reload = { successful, successMs: successful ? atMs : this.reload.successMs };
    this.ownVersion++;
  }

  /** Marks the start-up configuration as a successful load (Prometheus does the same). */
  setInitialLoad(atMs: number): void {
    this.setReloadResult(true, atMs);
  }

  setShard(shard: { index: number; count: number } | undefined): void {
    this.shard = shard;
    this.ownVersion++;
  }

  /** Drops the cached lines when accounts were removed, so their memory goes at once. */
  forget(names: readonly string[]): void {
    if (names.length > 0) this.blocks = [];
  }

  /**
   * The `zexa_` families in `format`, rendered only when something changed, in one go. OpenMetrics'
   * `# EOF` is not included: the process metrics follow. A scrape uses `renderZexaSliced`.
   */
  renderZexa(format: ExpositionFormat = 'text'): RenderedMetrics {
    const key = this.currentKey();
    if (key === this.renderedKey && this.rendered[format] !== undefined) return this.rendered[format];
    const steps = this.build(format);
    let step = steps.next();
    while (step.done !== true) step = steps.next();
    return this.keep(format, key, step.value);
  }

  /**
   * The same as `renderZexa`, rendered a few blocks per turn of the event loop, so rendering
   * 10,000 accounts (~7 MB) is no long task that holds timers, probes and poll answers back.
   * Scrapes that come while a render of their format runs share it (its result may be up to one
   * render old, as it would be had they come a moment earlier).
   */
  renderZexaSliced(format: ExpositionFormat = 'text'): Promise<RenderedMetrics> {
    const key = this.currentKey();
    const cached = key === this.renderedKey ? this.rendered[format] : undefined;
    if (cached !== undefined) return Promise.resolve(cached);
    const running = this.rendering[format];
    if (running !== undefined) return running;
    const render = this.renderInSlices(format, key);
    this.rendering[format] = render;
    // Cleared once settled: a render of one slice has settled already, yet its callbacks run after this.
    const settled = (): void => {
      if (this.rendering[format] === render) delete this.rendering[format];
    };
    render.then(settled, settled);
    return render;
  }

  private async renderInSlices(format: ExpositionFormat, key: string): Promise<RenderedMetrics> {
    const steps = this.build(format);
    let step = steps.next();
    while (step.done !== true) {
      await this.yieldTurn();
      step = steps.next();
    }
    return this.keep(format, key, step.value);
  }

  private currentKey(): string {
    return `${this.store.version}:${this.ownVersion}`;
  }
  /** Keeps `result` as the render of `format` at `key` (the key seen when its render began). */
  private keep(format: ExpositionFormat, key: string, result: RenderedMetrics): RenderedMetrics {
    if (key !== this.renderedKey) {
      this.rendered = {};
      this.renderedKey = key;
    }
    this.rendered[format] = result;
    return result;
  }

  /** Renders the changed blocks, yielding after every {@link BLOCKS_PER_SLICE} rendered. */
  private *build(format: ExpositionFormat): Generator<void, RenderedMetrics> {
    const accounts = this.store.list();
    const blockCount = Math.ceil(accounts.length / BLOCK_SIZE);
    // The blocks this render shows: a render of the other format may replace this.blocks' entries meanwhile.
    const blocks: Block[] = [];
    let sinceYield = 0;
    for (let b = 0; b < blockCount; b++) {
      const start = b * BLOCK_SIZE;
      const end = Math.min(start + BLOCK_SIZE, accounts.length);
      let block = this.blocks[b];
      if (block === undefined || !sameBlock(block, accounts, start, end)) {
        if (sinceYield === BLOCKS_PER_SLICE) {
          yield;
          sinceYield = 0;
        }
        block = renderBlock(accounts.slice(start, end));
        this.blocks[b] = block;
        sinceYield++;
      }
      blocks.push(block);
    }
    this.blocks.length = Math.min(this.blocks.length, blockCount);
    const pieces: Piece[] = [];
    ACCOUNT_FAMILIES.forEach(([def], f) => {
      const shown = blocks.filter((block) => (block.bodies[f] as Buffer).length > 0);
      // A family with no samples at all is left out, as prom-client does for unlabelled metrics.
      if (shown.length === 0) return;
      pieces.push(this.headerPiece(header(def, format)));
      for (const block of shown) {
        pieces.push({
          bytes: block.bodies[f] as Buffer,
          gzipped: () => block.gzipped[f],
          keep: (member) => (block.gzipped[f] = member),
        });
      }
    });
    let tail =
      this.renderRequests(format) +
      header(METRICS.buildInfo, format) +
      this.buildInfoLine +
      this.renderReload(format) +
      this.renderClientErrors(format);
    if (this.shard !== undefined) {
      tail +=
        header(METRICS.shardInfo, format) +
        `${METRICS.shardInfo.name}{index="${this.shard.index}",count="${this.shard.count}"} 1\n`;
    }
    pieces.push(piece(Buffer.from(tail)));
    return rendered(pieces);
  }

  private headerPiece(text: string): Piece {
    let found = this.headerPieces.get(text);
    if (found === undefined) {
      found = piece(Buffer.from(text));
      this.headerPieces.set(text, found);
    }
    return found;
  }

  private renderRequests(format: ExpositionFormat): string {
    let out = '';
    if (this.requestsByCode.size > 0) {
      out += header(METRICS.apiRequests, format);
      for (const code of [...this.requestsByCode.keys()].sort()) {
        out += `${METRICS.apiRequests.name}{code="${escapeLabelValue(code)}"} ${this.requestsByCode.get(code) ?? 0}\n`;
      }
    }
    const duration = METRICS.apiDuration.name;
    out += header(METRICS.apiDuration, format);
    DURATION_BUCKETS.forEach((bucket, i) => {
      out += `${duration}_bucket{le="${bucket}"} ${this.bucketCounts[i] ?? 0}\n`;
    });
    out += `${duration}_bucket{le="+Inf"} ${this.durationCount}\n`;
    out += `${duration}_sum ${formatValue(this.durationSum)}\n`;
    out += `${duration}_count ${this.durationCount}\n`;
    return out;
  }

  /** The family is always there (HELP and TYPE), so dashboards and rules can find it before the first error. */
  private renderClientErrors(format: ExpositionFormat): string {
    let out = header(METRICS.httpClientErrors, format);
    for (const code of [...this.clientErrorsByCode.keys()].sort()) {
      out += `${METRICS.httpClientErrors.name}{code="${code}"} ${this.clientErrorsByCode.get(code) ?? 0}\n`;
    }
    return out;
  }

  private renderReload(format: ExpositionFormat): string {
    let out =
      header(METRICS.reloadSuccessful, format) + `${METRICS.reloadSuccessful.name} ${this.reload.successful ? 1 : 0}\n`;
    if (this.reload.successMs !== undefined) {
      out +=
        header(METRICS.reloadTimestamp, format) +
        `${METRICS.reloadTimestamp.name} ${formatValue(this.reload.successMs / 1000)}\n`;
    }
    return out;
  }
}

/** Whether `block` still shows accounts[start, end) as they are now. */
function sameBlock(block: Block, accounts: readonly AccountStatus[], start: number, end: number): boolean {
  if (block.statuses.length !== end - start) return false;
  for (let i = 0; i < block.statuses.length; i++) {
    const status = accounts[start + i] as AccountStatus;
    // Identity too: an account removed and added again starts a new status at version 0.
    if (block.statuses[i] !== status || block.versions[i] !== status.version) return false;
  }
  return true;
}

function renderBlock(statuses: AccountStatus[]): Block {
  // Account names are [a-z0-9_] by configuration; escaping keeps the output valid regardless.
  const labels = statuses.map((status) => escapeLabelValue(status.name));
  return {
    statuses,
    versions: statuses.map((s) => s.version),
    bodies: ACCOUNT_FAMILIES.map(([def, render]) =>
      encodeLines(statuses.length, (i) => render(def.name, statuses[i] as AccountStatus, labels[i] as string)),
    ),
    gzipped: ACCOUNT_FAMILIES.map(() => undefined),
  };
}
