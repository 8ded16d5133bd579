/**
 * What the exporter is compared with in the same run: plain prom-client rendering the same series,
 * and a bare undici loop making the same API requests at the same concurrency.
 */
import { Agent, request } from 'undici';
import { Counter, Gauge, Registry } from 'prom-client';
import type { SimAccountSpec } from '../src/simulator/index.js';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: string;
  labelNames: string[];
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The gauge and counter families of an exposition text (histograms are left out: a few lines). */
function parseFamilies(text: string): Family[] {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      helps.set(rest.slice(0, space), rest.slice(space + 1));
    } else if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ') as [string, string];
      if (type === 'gauge' || type === 'counter') {
        families.set(name, { name, help: helps.get(name) ?? name, type, labelNames: [], samples: [] });
      }
    } else if (line !== '' && !line.startsWith('#')) {
      const match = SAMPLE.exec(line);
      if (match === null) continue;
      const family = families.get(match[1] as string);
      if (family === undefined) continue;
      const labels: Record<string, string> = {};
      for (const label of (match[2] ?? '').matchAll(LABEL)) labels[label[1] as string] = label[2] as string;
      if (family.samples.length === 0) family.labelNames = Object.keys(labels);
      family.samples.push({ labels, value: Number(match[3]) });
    }
  }
  return [...families.values()];
}

/** A prom-client Registry holding the same gauge and counter series as `text`, the usual way. */
export function equivalentRegistry(text: string): { registry: Registry; series: number } {
  const registry = new Registry();
  let series = 0;
  for (const family of parseFamilies(text)) {
    const config = { name: family.name, help: family.help, labelNames: family.labelNames, registers: [registry] };
    if (family.type === 'counter') {
      const counter = new Counter(config);
      for (const s of family.samples) counter.inc(s.labels, s.value);
    } else {
      const gauge = new Gauge(config);
      for (const s of family.samples) gauge.set(s.labels, s.value);
    }
    series += family.samples.length;
  }
  return { registry, series };
}

/** Median wall time of `registry.metrics()`, in ms, over `runs` calls after one warm-up. */
export async function timeRegistryMetrics(registry: Registry, runs: number): Promise<number[]> {
  await registry.metrics();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await registry.metrics();
    times.push(performance.now() - started);
  }
  return times;
}

/**
 * GET /v1/credits once per account, `concurrency` at a time, through one undici Agent, reading
 * and parsing each body: the least any exporter must do for one poll round.
 */
export async function bareUndiciRound(
  apiUrl: string,
  accounts: readonly SimAccountSpec[],
  concurrency: number,
): Promise<void> {
  const agent = new Agent({ connections: concurrency });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < accounts.length) {
      const account = accounts[next++] as SimAccountSpec;
      const response = await request(`${apiUrl}/v1/credits`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${account.key}`, accept: 'application/json' },
      });
      const body = (await response.body.json()) as { credits?: unknown };
      if (response.statusCode !== 200 || typeof body.credits !== 'number') {
        throw new Error(`bare loop: unexpected answer ${response.statusCode} for ${account.name}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, accounts.length) }, worker));
  } finally {
    await agent.close();
  }
}
