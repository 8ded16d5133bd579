import { describe, expect, it } from 'vitest';
import { OPTIMIZE_FROM_ACCOUNTS, tuneV8 } from '../../src/main.js';

const NODE_24_V8 = '13.6.233.17-node.40';
const NODE_20_V8 = '11.3.244.8-node.33';
const WASM_AND_HEAP = ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering', '--optimize-for-size'];

function tune(
  execArgv: readonly string[],
  v8Version = NODE_24_V8,
): { flags: string[]; fleetSize: (n: number) => void } {
  const flags: string[] = [];
  const tuning = tuneV8(execArgv, (flag) => flags.push(flag), v8Version);
  return { flags, fleetSize: (n) => tuning.fleetSize(n) };
}

describe('tuneV8', () => {
  it('starts without the optimising compilers', () => {
    expect(tune([]).flags).toEqual([...WASM_AND_HEAP, '--no-turbofan', '--no-maglev']);
  });

  it('keeps them off for a small fleet, through reloads', () => {
    const { flags, fleetSize } = tune([]);
    const atStart = flags.length;
    fleetSize(10);
    fleetSize(OPTIMIZE_FROM_ACCOUNTS - 1);
    expect(flags).toHaveLength(atStart);
  });

  it('turns them on once a configuration lists enough accounts, and never off again', () => {
    const { flags, fleetSize } = tune([]);
    fleetSize(OPTIMIZE_FROM_ACCOUNTS);
    fleetSize(10_000);
    fleetSize(1);
    expect(flags.slice(WASM_AND_HEAP.length)).toEqual(['--no-turbofan', '--no-maglev', '--turbofan', '--maglev']);
  });

  it('leaves Maglev alone where V8 ships it off (Node.js 20)', () => {
    const { flags, fleetSize } = tune([], NODE_20_V8);
    fleetSize(10_000);
    expect(flags.slice(WASM_AND_HEAP.length)).toEqual(['--no-turbofan', '--turbofan']);
  });

  it.each([['--turbofan'], ['--no-maglev'], ['--opt']])(
    'leaves both compilers to the operator who names one on the command line (%s)',
    (flag) => {
      const { flags, fleetSize } = tune([flag]);
      fleetSize(10_000);
      expect(flags).toEqual(WASM_AND_HEAP);
    },
  );

  it('keeps the heap sizing the operator turned off', () => {
    expect(tune(['--no-optimize-for-size']).flags).not.toContain('--optimize-for-size');
  });
});
