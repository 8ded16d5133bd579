import { describe, it, expect } from 'vitest';
import { assignShard, murmur3x86x32, ownsAccount } from '../../../src/poll/shard.js';
import { MAX_SHARD_COUNT } from '../../../src/config/defaults.js';

// Sequential, similar names are the hard case for a weak hash: they differ in a digit or two.
const NAMES = Array.from({ length: 10_000 }, (_, i) =>
  i % 2 === 0 ? `customer_${String(i).padStart(5, '0')}` : `t${i}_${(i * 7919) % 10_007}`,
);
const MAX_COUNT = 16;

/** assignments[count][i] = shard of NAMES[i] with `count` shards. */
const assignments: number[][] = [];
for (let count = 1; count <= MAX_COUNT; count++) {
  assignments[count] = NAMES.map((name) => assignShard(name, count));
}
function assignmentsFor(count: number): number[] {
  const row = assignments[count];
  if (row === undefined) throw new Error(`no assignments computed for ${count} shards`);
  return row;
}

describe('murmur3x86x32', () => {
  // Reference vectors of MurmurHash3_x86_32, so the assignment can be reproduced outside Node.
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['test', 0, 0xba6bd213],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['aa', 0x9747b28c, 0x5d211726],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
  ])('hashes %j with seed %i to the reference value', (input, seed, expected) => {
    expect(murmur3x86x32(Buffer.from(input, 'utf8'), seed)).toBe(expected);
  });
});

describe('assignShard / ownsAccount', () => {
  it('gives every account to exactly one shard, for 1 to 16 shards', () => {
    for (let count = 1; count <= MAX_COUNT; count++) {
      const owners = new Array<number>(NAMES.length).fill(0);
      for (let index = 0; index < count; index++) {
        NAMES.forEach((name, i) => {
          if (ownsAccount(name, { index, count })) owners[i] = (owners[i] ?? 0) + 1;
        });
      }
      expect(
        owners.every((n) => n === 1),
        `${count} shards`,
      ).toBe(true);
    }
  });

  it('agrees with ownsAccount on which shard owns an account', () => {
    const row = assignmentsFor(5);
    NAMES.slice(0, 500).forEach((name, i) => {
      expect(ownsAccount(name, { index: row[i] ?? -1, count: 5 })).toBe(true);
    });
  });

  it('going from N to N+1 shards moves about 1/(N+1) of the accounts, all to the new shard', () => {
    for (let n = 1; n < MAX_COUNT; n++) {
      const before = assignmentsFor(n);
      const after = assignmentsFor(n + 1);
      let moved = 0;
      for (let i = 0; i < NAMES.length; i++) {
        if (before[i] !== after[i]) {
          moved++;
          expect(after[i], `${NAMES[i]} moved from ${n} to ${n + 1} shards`).toBe(n);
        }
      }
      const expected = NAMES.length / (n + 1);
      expect(moved, `${n} → ${n + 1} shards`).toBeGreaterThan(expected * 0.85);
      expect(moved, `${n} → ${n + 1} shards`).toBeLessThan(expected * 1.15);
    }
  });

  it('removing the last shard moves only the accounts it owned', () => {
    const before = assignmentsFor(8);
    const after = assignmentsFor(7);
    for (let i = 0; i < NAMES.length; i++) {
      if (before[i] !== 7) expect(after[i]).toBe(before[i]);
    }
  });

  it('adding accounts moves no existing account', () => {
    const extra = Array.from({ length: 1_000 }, (_, i) => `new_customer_${i}`);
    for (const count of [2, 7, 16]) {
      // Computed in a different order, interleaved with new names: no hidden state may leak in.
      const mixed = [...extra, ...NAMES].reverse().map((name) => [name, assignShard(name, count)] as const);
      const byName = new Map(mixed);
      NAMES.forEach((name, i) => expect(byName.get(name)).toBe(assignmentsFor(count)[i]));
    }
  });

  it('balances accounts across shards within 10 % of an even split', () => {
    for (let count = 2; count <= MAX_COUNT; count++) {
      const perShard = new Array<number>(count).fill(0);
      for (const shard of assignmentsFor(count)) perShard[shard] = (perShard[shard] ?? 0) + 1;
      const even = NAMES.length / count;
      for (const [index, n] of perShard.entries()) {
        expect(Math.abs(n - even) / even, `shard ${index} of ${count} holds ${n}`).toBeLessThan(0.1);
      }
    }
  });

  it('keeps the assignment of known names stable across releases', () => {
    // Replicas of two versions run side by side during a rolling update: if these change, some
    // accounts get polled twice and others never. Change only on purpose, with a changelog entry.
    const pinned = ['production', 'staging', 'customer_00001', 'a', ''].map((name) => [
      name,
      assignShard(name, 4),
      assignShard(name, 16),
    ]);
    expect(pinned).toEqual(PINNED);
  });

  it('hashes the UTF-8 bytes of a name, so any string has an owner', () => {
    const shard = assignShard('café_ünïcode', 3);
    expect(shard).toBeGreaterThanOrEqual(0);
    expect(shard).toBeLessThan(3);
    expect(assignShard('café_ünïcode', 3)).toBe(shard);
  });

  it('puts every account on shard 0 of 1', () => {
    expect(assignmentsFor(1).every((shard) => shard === 0)).toBe(true);
  });

  it.each([
    [0, 'shard count must be an integer from 1 to 1024, got 0'],
    [-2, 'shard count must be an integer from 1 to 1024, got -2'],
    [1.5, 'shard count must be an integer from 1 to 1024, got 1.5'],
    [Number.NaN, 'shard count must be an integer from 1 to 1024, got NaN'],
    [MAX_SHARD_COUNT + 1, 'shard count must be an integer from 1 to 1024, got 1025'],
  ])('rejects shard count %s', (count, message) => {
    expect(() => assignShard('x', count)).toThrow(new RangeError(message));
    expect(() => ownsAccount('x', { index: 0, count })).toThrow(new RangeError(message));
  });

  it.each([
    [{ index: 4, count: 4 }, 'shard index must be an integer from 0 to 3 (count 4), got 4'],
    [{ index: -1, count: 4 }, 'shard index must be an integer from 0 to 3 (count 4), got -1'],
    [{ index: 0.5, count: 2 }, 'shard index must be an integer from 0 to 1 (count 2), got 0.5'],
  ])('rejects shard %o', (shard, message) => {
    expect(() => ownsAccount('x', shard)).toThrow(new RangeError(message));
  });
});

const PINNED = [
  ['production', 2, 10],
  ['staging', 2, 15],
  ['customer_00001', 2, 13],
  ['a', 1, 11],
  ['', 3, 15],
];
