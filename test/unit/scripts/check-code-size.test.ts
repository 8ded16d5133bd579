import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILE_LINES,
  MAX_FUNCTION_LINES,
  measureCodeSize,
  measureFunctions,
} from '../../../scripts/check-code-size.js';

const SRC = path.resolve(import.meta.dirname, '../../../src');

describe('code size (issue 11: no src file over 500 lines, no function over 80)', () => {
  const { files, functions } = measureCodeSize(SRC);

  it('measures the whole of src/', () => {
    expect(files.map((f) => f.file)).toContain('src/main.ts');
    expect(files.map((f) => f.file)).toContain('src/config/load.ts');
    expect(functions.length).toBeGreaterThan(100);
  });

  it(`no file in src/ is over ${MAX_FILE_LINES} lines`, () => {
    const over = files.filter((f) => f.lines > MAX_FILE_LINES).map((f) => `${f.file}: ${f.lines} lines`);
    expect(over).toEqual([]);
  });

  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    const over = functions
      .filter((f) => f.lines > MAX_FUNCTION_LINES)
      .map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines`);
    expect(over).toEqual([]);
  });
});

describe('measureFunctions', () => {
  const source = [
    '/** A declaration. */', // 1
    'export function outer(a: number): number {', // 2
    '  const inner = (b: number): number => {', // 3
    '    return b + 1;', // 4
    '  };', // 5
    '  return inner(a);', // 6
    '}', // 7
    'class Box {', // 8
    '  constructor(readonly v: number) {}', // 9
    '  get double(): number {', // 10
    '    return this.v * 2;', // 11
    '  }', // 12
    '  method(): void {', // 13
    '    [1].forEach(function (x) {', // 14
    '      void x;', // 15
    '    });', // 16
    '  }', // 17
    '}', // 18
    'const handlers = { onData: (d: string) => d.length };', // 19
    'declare function bodiless(): void;', // 20
    'interface Shape { area(): number }', // 21
  ].join('\n');

  it('counts every kind of function with a body, from its first line to its last, doc comment excluded', () => {
    expect(measureFunctions('x.ts', source).map(({ name, line, lines }) => ({ name, line, lines }))).toEqual([
      { name: 'outer', line: 2, lines: 6 },
      { name: 'inner', line: 3, lines: 3 },
      { name: 'Box.constructor', line: 9, lines: 1 },
      { name: 'Box.double', line: 10, lines: 3 },
      { name: 'Box.method', line: 13, lines: 5 },
      { name: '<function>', line: 14, lines: 3 },
      { name: 'onData', line: 19, lines: 1 },
    ]);
  });
});
