/**
 * `--help` and `--version` print without loading the configuration loader's libraries (zod,
 * yaml): the flag parser they load is built from the settings table, so neither may import them.
 * They cost 15-20 MB of RSS at start (see BENCHMARKS.md, "Start-up commands"). The entry point
 * itself imports nothing at its top level: V8's flags are set before any other module is resolved
 * (tuneV8 in src/main.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');

/** The modules a file imports when it is evaluated: static imports and re-exports, not `import type` nor `import()`. */
function staticImports(source: string): string[] {
  const found = [
    ...source.matchAll(/^(?:import|export)(?!\s+type\s)\s[^'";]*?\sfrom\s*'([^']+)'/gm),
    ...source.matchAll(/^import\s*'([^']+)'/gm),
  ];
  return found.map((match) => match[1] as string);
}

/** Every module `entry` loads, following relative imports: the relative ones as paths, the packages by name. */
function loadedModules(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of staticImports(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:')) packages.add(specifier.split('/')[0] as string);
    }
  }
  return { files, packages };
}

describe('what the entry point loads before it knows the command', () => {
  it('finds static imports and re-exports, and skips type-only and dynamic ones', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C } from './c.js';",
      "export { D } from './d.js';",
      "import './e.js';",
      "const f = await import('./f.js');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(staticImports(source)).toEqual(['./a.js', './c.js', './d.js', 'zod', './e.js']);
  });

  it('is the entry point alone', () => {
    const { files, packages } = loadedModules(join(SRC, 'main.ts'));
    expect([...files]).toEqual([join(SRC, 'main.ts')]);
    expect([...packages]).toEqual([]);
  });

  it('for --help and --version is the settings table and the flag parser, without zod or yaml', () => {
    const { files, packages } = loadedModules(join(SRC, 'config', 'cli.ts'));
    expect(files).toContain(join(SRC, 'config', 'settings.ts'));
    expect([...packages].filter((name) => name === 'zod' || name === 'yaml')).toEqual([]);
  });
});
