/**
 * A bounded history of each account's balance, in memory: what the status page draws as a
 * sparkline and what the consumption rate and the time to empty are computed from.
 *
 * Each account has a ring of {@link BUCKETS} time buckets. A bucket holds what the polls whose
 * time falls in it saw: the credits consumed (sum of decreases between consecutive polls) and
 * added (sum of increases, i.e. top-ups). The balance at the end of every bucket is not stored:
 * it follows from the latest balance, walking back (`end(k-1) = end(k) - added(k) + consumed(k)`).
 * So a bucket costs 8 bytes (two float32), and 10,000 accounts hold 24 h in about 8.7 MB (with
 * the per-account fields and the name map; `npm run bench` measures it).
 *
 * Resolution: buckets start 1 minute wide. When an account's history no longer fits in the ring,
 * neighbouring buckets are merged two by two (2, 4, 8, then 16 minutes); at 16 minutes the ring
 * covers 25.6 h and the oldest bucket is dropped instead. A new account (or a new exporter) thus
 * gets a detailed sparkline at once, and every account keeps at least 24 h.
 *
 * Storage is a few typed arrays per chunk of {@link CHUNK} accounts, not objects per account:
 * 10,000 accounts are 40 chunks, and removed accounts give their slot to the next one added.
 */

/** Buckets per account. */
export const BUCKETS = 96;
/** Width of a bucket at level 0. */
export const BASE_BUCKET_MS = 60_000;
/** Buckets are 1, 2, 4, 8 and at most 16 minutes wide: 96 × 16 min = 25.6 h. */
export const MAX_LEVEL = 4;
/** Accounts per storage chunk: 2^CHUNK_BITS. */
const CHUNK_BITS = 8;
const CHUNK = 1 << CHUNK_BITS;

/** What the polls of one bucket saw. Times are wall-clock ms. */
interface HistoryBucket {
  startMs: number;
  endMs: number;
  consumed: number;
  added: number;
  /** Balance after the bucket's last poll. */
  balance: number;
}

/** One account's history, oldest bucket first (only buckets with at least one poll). */
export interface HistorySeries {
  bucketMs: number;
  /** Start of what the history covers: its first poll, or the start of its oldest kept bucket. */
  sinceMs: number;
  /** Balance at `sinceMs`. */
  startBalance: number;
  lastSampleMs: number;
  buckets: HistoryBucket[];
}

/** Sums over the part of the history inside a window ending at `nowMs`. */
export interface WindowSums {
  consumed: number;
  added: number;
  /** Buckets in the window that saw a top-up (top-ups closer together than a bucket count once). */
  topUps: number;
  /**
   * Time the window and the history have in common, up to the latest poll: what the consumption
   * is divided by. Ending at the latest poll rather than at `now` keeps a steady drain steady
   * between polls (dividing up to `now` would read it lower and lower until the next poll).
   */
  coveredMs: number;
  /** How long the history is: from its start to the latest poll. */
  historyMs: number;
}

class Chunk {
  readonly consumed = new Float32Array(CHUNK * BUCKETS).fill(Number.NaN);
  readonly added = new Float32Array(CHUNK * BUCKETS);
  readonly lastBalance = new Float64Array(CHUNK);
  /** NaN: no poll recorded yet. */
  readonly sinceMs = new Float64Array(CHUNK).fill(Number.NaN);
  readonly lastSampleMs = new Float64Array(CHUNK);
  /** Bucket index (time / width) of the newest bucket, and of the oldest one kept. */
  readonly head = new Int32Array(CHUNK);
  readonly first = new Int32Array(CHUNK);
  readonly level = new Uint8Array(CHUNK);
}

const scratchConsumed = new Float32Array(BUCKETS);
const scratchAdded = new Float32Array(BUCKETS);

function mod(k: number): number {
  return ((k % BUCKETS) + BUCKETS) % BUCKETS;
}

export class BalanceHistory {
  private readonly slots = new Map<string, number>();
  private readonly chunks: Chunk[] = [];
  private readonly free: number[] = [];
  private allocated = 0;

  /** Accounts with a slot. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * Records a successful poll. `sameUnit` false (the currency changed) starts the account's
   * history over: balances in two currencies cannot be compared.
   */
  record(name: string, atMs: number, credits: number, sameUnit = true): void {
    const slot = this.slotOf(name);
    const chunk = this.chunks[slot >> CHUNK_BITS] as Chunk;
    const i = slot & (CHUNK - 1);
    if (!sameUnit) this.clear(chunk, i);
    if (Number.isNaN(chunk.sinceMs[i])) {
      this.start(chunk, i, atMs, credits);
      return;
    }
    const delta = credits - (chunk.lastBalance[i] as number);
    const index = this.makeRoom(chunk, i, atMs);
    const at = i * BUCKETS + mod(index);
    if (Number.isNaN(chunk.consumed[at])) {
      chunk.consumed[at] = 0;
      chunk.added[at] = 0;
    }
    if (delta < 0) chunk.consumed[at] = (chunk.consumed[at] as number) - delta;
    else if (delta > 0) chunk.added[at] = (chunk.added[at] as number) + delta;
    chunk.lastBalance[i] = credits;
    chunk.lastSampleMs[i] = Math.max(chunk.lastSampleMs[i] as number, atMs);
  }

  /** Forgets an account (removed from the configuration); its slot is reused. */
  forget(name: string): void {
    const slot = this.slots.get(name);
    if (slot === undefined) return;
    this.slots.delete(name);
    this.clear(this.chunks[slot >> CHUNK_BITS] as Chunk, slot & (CHUNK - 1));
    this.free.push(slot);
  }

  /** Sums over the window `[nowMs − windowMs, nowMs]`; undefined when the account has no poll yet. */
  windowSums(name: string, nowMs: number, windowMs: number): WindowSums | undefined {
    const located = this.locate(name);
    if (located === undefined) return undefined;
    const { chunk, i } = located;
    const width = BASE_BUCKET_MS << (chunk.level[i] as number);
    const since = chunk.sinceMs[i] as number;
    const from = nowMs - windowMs;
    const last = Math.min(nowMs, chunk.lastSampleMs[i] as number);
    const sums: WindowSums = {
      consumed: 0,
      added: 0,
      topUps: 0,
      coveredMs: Math.max(0, last - Math.max(from, since)),
      historyMs: Math.max(0, last - since),
    };
    const first = chunk.first[i] as number;
    for (let k = chunk.head[i] as number; k >= first; k--) {
      const at = i * BUCKETS + mod(k);
      const consumed = chunk.consumed[at] as number;
      if (Number.isNaN(consumed)) continue;
      const start = k * width;
      const end = start + width;
      if (end <= from) break;
      // The bucket the window starts in counts in proportion to its part inside the window.
      const share = start < from ? (end - from) / width : 1;
      const added = chunk.added[at] as number;
      sums.consumed += consumed * share;
      sums.added += added * share;
      if (added > 0) sums.topUps++;
    }
    return sums;
  }

  /** The account's buckets and the balance after each; undefined when it has no poll yet. */
  series(name: string): HistorySeries | undefined {
    const located = this.locate(name);
    if (located === undefined) return undefined;
    const { chunk, i } = located;
    const width = BASE_BUCKET_MS << (chunk.level[i] as number);
    const head = chunk.head[i] as number;
    const lastSampleMs = chunk.lastSampleMs[i] as number;
    const buckets: HistoryBucket[] = [];
    let balance = chunk.lastBalance[i] as number;
    for (let k = head; k >= (chunk.first[i] as number); k--) {
      const at = i * BUCKETS + mod(k);
      const consumed = chunk.consumed[at] as number;
      if (Number.isNaN(consumed)) continue;
      const added = chunk.added[at] as number;
      const startMs = k * width;
      buckets.push({
        startMs,
        endMs: Math.min(startMs + width, Math.max(startMs, lastSampleMs)),
        consumed,
        added,
        balance,
      });
      balance = balance - added + consumed;
    }
    buckets.reverse();
    return { bucketMs: width, sinceMs: chunk.sinceMs[i] as number, startBalance: balance, lastSampleMs, buckets };
  }

  private locate(name: string): { chunk: Chunk; i: number } | undefined {
    const slot = this.slots.get(name);
    if (slot === undefined) return undefined;
    const chunk = this.chunks[slot >> CHUNK_BITS] as Chunk;
    const i = slot & (CHUNK - 1);
    return Number.isNaN(chunk.sinceMs[i]) ? undefined : { chunk, i };
  }

  private slotOf(name: string): number {
    let slot = this.slots.get(name);
    if (slot !== undefined) return slot;
    slot = this.free.pop();
    if (slot === undefined) {
      slot = this.allocated++;
      if (slot >> CHUNK_BITS >= this.chunks.length) this.chunks.push(new Chunk());
    }
    this.slots.set(name, slot);
    return slot;
  }

  private start(chunk: Chunk, i: number, atMs: number, credits: number): void {
    const index = Math.floor(atMs / BASE_BUCKET_MS);
    chunk.level[i] = 0;
    chunk.head[i] = index;
    chunk.first[i] = index;
    chunk.sinceMs[i] = atMs;
    chunk.lastSampleMs[i] = atMs;
    chunk.lastBalance[i] = credits;
    const at = i * BUCKETS + mod(index);
    chunk.consumed[at] = 0;
    chunk.added[at] = 0;
  }

  private clear(chunk: Chunk, i: number): void {
    chunk.consumed.fill(Number.NaN, i * BUCKETS, (i + 1) * BUCKETS);
    chunk.added.fill(0, i * BUCKETS, (i + 1) * BUCKETS);
    chunk.sinceMs[i] = Number.NaN;
  }

  /**
   * Returns the bucket index `atMs` goes to, after merging buckets or dropping the oldest so it
   * fits in the ring. A time before the newest bucket (the wall clock stepped back) goes to it.
   */
  private makeRoom(chunk: Chunk, i: number, atMs: number): number {
    let head = chunk.head[i] as number;
    let index = Math.max(head, Math.floor(atMs / (BASE_BUCKET_MS << (chunk.level[i] as number))));
    while (index - (chunk.first[i] as number) >= BUCKETS && (chunk.level[i] as number) < MAX_LEVEL) {
      this.merge(chunk, i);
      head = chunk.head[i] as number;
      index = Math.max(head, Math.floor(atMs / (BASE_BUCKET_MS << (chunk.level[i] as number))));
    }
    if (index - (chunk.first[i] as number) >= BUCKETS) {
      const first = index - BUCKETS + 1;
      chunk.first[i] = first;
      const width = BASE_BUCKET_MS << (chunk.level[i] as number);
      chunk.sinceMs[i] = Math.max(chunk.sinceMs[i] as number, first * width);
    }
    // Buckets between the old head and the new one saw no poll.
    for (let k = Math.max(head + 1, index - BUCKETS + 1); k <= index; k++) {
      chunk.consumed[i * BUCKETS + mod(k)] = Number.NaN;
      chunk.added[i * BUCKETS + mod(k)] = 0;
    }
    chunk.head[i] = index;
    return index;
  }

  /** Halves the resolution: buckets 2k and 2k+1 become bucket k of the next level. */
  private merge(chunk: Chunk, i: number): void {
    const head = chunk.head[i] as number;
    const first = chunk.first[i] as number;
    const base = i * BUCKETS;
    for (let k = first; k <= head; k++) {
      scratchConsumed[k - first] = chunk.consumed[base + mod(k)] as number;
      scratchAdded[k - first] = chunk.added[base + mod(k)] as number;
    }
    chunk.consumed.fill(Number.NaN, base, base + BUCKETS);
    chunk.added.fill(0, base, base + BUCKETS);
    for (let k = first; k <= head; k++) {
      const consumed = scratchConsumed[k - first] as number;
      if (Number.isNaN(consumed)) continue;
      const at = base + mod(Math.floor(k / 2));
      const before = chunk.consumed[at] as number;
      chunk.consumed[at] = Number.isNaN(before) ? consumed : before + consumed;
      chunk.added[at] = (chunk.added[at] as number) + (scratchAdded[k - first] as number);
    }
    chunk.level[i] = (chunk.level[i] as number) + 1;
    chunk.head[i] = Math.floor(head / 2);
    chunk.first[i] = Math.floor(first / 2);
  }
}
