/**
 * What the exporter and its `healthcheck` load, checked in a real process: most of what Node.js 24
 * added to their RSS came from modules nothing used (BENCHMARKS.md, "Where the memory goes").
 * Node.js's own bundled undici (fetch, WebSocket) came in through an ES import of node:http and
 * through the undici package's index; the probe loaded yaml, node:https and the web config
 * parser without a config file or TLS.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_UNDICI = 'NativeModule internal/deps/undici/undici';

const dir = mkdtempSync(join(tmpdir(), 'zexa-loaded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A preload that prints, at exit, Node.js's builtins loaded and the CommonJS files required. */
const PRELOAD = join(dir, 'report-loaded.mjs');
writeFileSync(
  PRELOAD,
  "import { createRequire } from 'node:module';\n" +
    'const cache = createRequire(import.meta.url).cache;\n' +
    "process.on('exit', () => process.stderr.write(`\\nloaded=${JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(cache) })}\\n`));\n",
);

interface Loaded {
  builtins: string[];
  /** The packages under node_modules that were required, by name. */
  packages: string[];
}

function loadedBy(args: readonly string[]): Loaded {
  const { stderr } = spawnSync(process.execPath, ['--import', PRELOAD, ...args], { cwd: ROOT, encoding: 'utf8' });
  const report = /^loaded=(.*)$/m.exec(stderr);
  if (report === null) throw new Error(`no report of the loaded modules in: ${stderr}`);
  const { builtins, files } = JSON.parse(report[1] as string) as { builtins: string[]; files: string[] };
  const packages = new Set(files.flatMap((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1] ?? []));
  return { builtins, packages: [...packages].sort() };
}

describe('modules loaded', () => {
  it("by the exporter leave out Node.js's bundled undici", () => {
    const script =
      "await import('./dist/runtime/exporter.js'); const { createDispatcher } = await import('./dist/zexa/client.js'); await createDispatcher({ timeoutMs: 1000, env: {} }).close();";
    const loaded = loadedBy(['--input-type=module', '-e', script]);
    expect(loaded.packages).toContain('undici');
    expect(loaded.builtins).not.toContain(NODE_UNDICI);
  });

  it('by `healthcheck` without a config file or TLS are no library, no node:https', () => {
    // Nothing listens on port 1: the probe fails, which is all this needs.
    const loaded = loadedBy(['dist/main.js', 'healthcheck', '--web.listen-address', '127.0.0.1:1']);
    expect(loaded.packages).toEqual([]);
    expect(loaded.builtins.filter((m) => /^NativeModule (https|tls)$/.test(m) || m === NODE_UNDICI)).toEqual([]);
  });
});
