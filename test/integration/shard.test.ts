import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExporter, type RunningExporter } from '../../src/runtime/exporter.js';
import { loadConfig } from '../../src/config/load.js';
import { generateAccounts, startSimulator, type ZexaSimulator } from '../../src/simulator/index.js';
import { captureLogs } from '../support/log-capture.js';
import { parseSample, until } from '../support/exporter-harness.js';

const accounts = generateAccounts(40);
let sim: ZexaSimulator;
const shards: RunningExporter[] = [];

beforeAll(async () => {
  sim = await startSimulator({ accounts });
  const env: Record<string, string> = { ZEXA_API_URL: sim.url };
  for (const a of accounts) env[`ZEXA_API_KEY_${a.name.toUpperCase()}`] = a.key;
  for (const shard of ['0/2', '1/2']) {
    // The default interval, 60 s: one poll of each account during the test.
    const config = loadConfig({
      argv: ['--web.listen-address=127.0.0.1:0', `--shard=${shard}`],
      env,
      readFile: () => '',
      readDir: () => [],
    });
    shards.push(await startExporter(config, { env, logDestination: captureLogs(), processMetrics: false }));
  }
});

afterAll(async () => {
  await Promise.all(shards.map((s) => s.close()));
  await sim.close();
});

describe('sharding across two replicas', () => {
  it('exports every account exactly once between shards 0/2 and 1/2, each saying which shard it is', async () => {
    const texts: string[] = [];
    for (const exporter of shards) {
      await until(async () => (await fetch(`${exporter.url}/readyz`)).status === 200, 20_000, 'readiness');
      texts.push(await (await fetch(`${exporter.url}/metrics`)).text());
    }
    const owned = texts.map((text) =>
      accounts.filter((a) => parseSample(text, `zexa_up{account="${a.name}"}`) !== undefined).map((a) => a.name),
    );
    expect(owned[0]!.length).toBeGreaterThan(0);
    expect(owned[1]!.length).toBeGreaterThan(0);
    expect([...owned[0]!, ...owned[1]!].sort()).toEqual(accounts.map((a) => a.name).sort());
    expect(owned[0]!.filter((n) => owned[1]!.includes(n))).toEqual([]);
    expect(texts[0]).toContain('zexa_exporter_shard_info{index="0",count="2"} 1\n');
    expect(texts[1]).toContain('zexa_exporter_shard_info{index="1",count="2"} 1\n');
    // Each key was polled by exactly one replica.
    for (const a of accounts) expect(sim.requestCount(a.name)).toBe(1);
  });
});
