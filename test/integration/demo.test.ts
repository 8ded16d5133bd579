/**
 * `npm run demo` (dist/demo.js) and `npm run simulator` (dist/simulator/cli.js) as real processes
 * (issue 10 §4): the demo prints the address it really listens on, and refuses a configuration
 * file instead of ignoring it; the simulator's npm script exists and starts it.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { runExporter, type ExporterProcess } from '../support/process.js';

const DEMO = fileURLToPath(new URL('../../dist/demo.js', import.meta.url));
const SIMULATOR = fileURLToPath(new URL('../../dist/simulator/cli.js', import.meta.url));

const running: ExporterProcess[] = [];
function start(args: string[], env: Record<string, string> = {}, script = DEMO): ExporterProcess {
  const proc = runExporter(args, env, script);
  running.push(proc);
  return proc;
}

afterEach(async () => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.kill('SIGTERM');
      await proc.exited;
    }
  }
});

describe('npm run demo', () => {
  it('prints the address it listens on: the bound host and the real port, not localhost:PORT', async () => {
    const proc = start(['--web.listen-address=127.0.0.1:0']);
    const port = await proc.port();
    await expect.poll(() => proc.stdout(), { timeout: 15_000 }).toContain('status page');
    expect(proc.stdout()).toContain(`  status page   http://127.0.0.1:${port}/\n`);
    expect(proc.stdout()).toContain(`  metrics       http://127.0.0.1:${port}/metrics\n`);
    expect(proc.stdout()).not.toContain('localhost');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it.each([[['--config.file=/tmp/zexa.yml']], [['--config.file', '/tmp/zexa.yml']]])(
    'refuses %j with a clear message and exit code 2 instead of ignoring it',
    async (args) => {
      const proc = start(args);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toMatch(
        /^zexa-exporter demo: --config\.file is not supported by the demo: it polls a fixed set of simulated accounts/,
      );
      expect(proc.stderr()).toContain('npm run simulator -- --key-dir');
      expect(proc.stdout()).not.toContain('status page');
    },
  );

  it('refuses ZEXA_EXPORTER_CONFIG the same way, naming the variable', async () => {
    const proc = start([], { ZEXA_EXPORTER_CONFIG: '/tmp/zexa.yml' });
    expect((await proc.exited).code).toBe(2);
    expect(proc.stderr()).toContain('ZEXA_EXPORTER_CONFIG is not supported by the demo');
    expect(proc.stderr()).toContain('or unset ZEXA_EXPORTER_CONFIG');
  });
});

describe('npm run simulator', () => {
  it('is an npm script that starts src/simulator/cli.ts (built)', async () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.simulator).toBe('node dist/simulator/cli.js');
    expect(pkg.scripts.presimulator).toBe('npm run build --silent');
    const proc = start(['--demo', '--port', '0'], {}, SIMULATOR);
    await expect
      .poll(() => proc.stdout(), { timeout: 15_000 })
      .toMatch(/Zexa API simulator listening on http:\/\/127\.0\.0\.1:\d+/);
    const url = /listening on (\S+)/.exec(proc.stdout())![1]!;
    const res = await fetch(`${url}/v1/credits`, {
      headers: { authorization: 'Bearer zx_demo_staging_not_a_real_key' },
    });
    expect(await res.json()).toMatchObject({ credits: 640, currency: 'USD' });
  });
});
