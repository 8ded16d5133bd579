/**
 * What the simulator saw: exact request counts, and the most recent records in a ring buffer so a
 * benchmark of millions of requests keeps memory flat.
 */
import type { SimRequestRecord } from './types.js';

export class RequestLog {
  private readonly ring: (SimRequestRecord | undefined)[];
  private next = 0;
  private stored = 0;
  private total = 0;
  private readonly perAccount = new Map<string, number>();

  constructor(private readonly capacity: number) {
    this.ring = new Array<SimRequestRecord | undefined>(capacity);
  }

  add(record: SimRequestRecord): void {
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    this.stored = Math.min(this.stored + 1, this.capacity);
    this.total += 1;
    if (record.account !== undefined) {
      this.perAccount.set(record.account, (this.perAccount.get(record.account) ?? 0) + 1);
    }
  }

  /** Oldest first; copies, so callers cannot alter the log. */
  records(account?: string): SimRequestRecord[] {
    const out: SimRequestRecord[] = [];
    const start = (this.next - this.stored + this.capacity) % this.capacity;
    for (let i = 0; i < this.stored; i += 1) {
      const record = this.ring[(start + i) % this.capacity];
      if (record !== undefined && (account === undefined || record.account === account)) out.push({ ...record });
    }
    return out;
  }

  count(account?: string): number {
    return account === undefined ? this.total : (this.perAccount.get(account) ?? 0);
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.stored = 0;
    this.total = 0;
    this.perAccount.clear();
  }
}
