/**
 * README's measured figures are BENCHMARKS.md's (issue 15, README drift): the prom-client
 * baseline, the poll slip under load, the RSS per size and the memory the manifests ask for.
 * Change BENCHMARKS.md after a bench run and this fails until README says the same.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { benchCell, pollSlipPercent, rssPeaks } from './benchmark-figures.js';
import { readRepoFile } from './ops-files.js';

const readme = readRepoFile('README.md');

function number(pattern: RegExp): number {
  const match = pattern.exec(readme);
  if (match === null) throw new Error(`README has nothing matching ${pattern}`);
  return Number(match[1]!.replace(/,/g, ''));
}

describe('README figures agree with BENCHMARKS.md', () => {
  it('the prom-client baseline at 10,000 accounts', () => {
    const measured = Number(/^([\d.]+) ms/.exec(benchCell('baseline: prom-client', '10,000 accounts'))?.[1]);
    expect(measured).toBeGreaterThan(0);
    expect(number(/prom-client `registry\.metrics\(\)` takes ([\d.]+) ms/)).toBe(measured);
  });

  it('the poll slip under 50 clients', () => {
    expect(number(/polls slipped by at most ([\d.]+) %/)).toBe(pollSlipPercent());
  });

  it('the RSS at 10, 1,000 and 10,000 accounts, steady and peak', () => {
    const claims = /RSS ([\d.]+) MB at 10 accounts \(([\d.]+) MB peak while starting\), ([\d.]+) MB at 1,000 \(([\d.]+) MB\s+peak\) and ([\d.]+) MB at 10,000 \(([\d.]+) MB peak\)/.exec(readme);
    expect(claims, 'README\'s Memory bullet').not.toBeNull();
    const table = ['10 accounts', '1,000 accounts', '10,000 accounts'].map((column) => benchCell('RSS of the exporter process', column));
    const [s10, p10, s1k, p1k, s10k, p10k] = claims!.slice(1).map(Number);
    expect(table).toEqual([`${p10} MB / ${s10} MB`, `${p1k} MB / ${s1k} MB`, `${p10k} MB / ${s10k} MB`]);
  });

  it('the highest peak and the memory the Kubernetes manifests ask for', () => {
    const highest = Math.max(...rssPeaks().map((p) => p.bytes));
    expect(number(/the highest peak measured is ([\d.]+) MiB/)).toBe(Math.round(highest / 2 ** 20));
    const deployment = parse(readRepoFile('deploy/kubernetes/base/deployment.yaml')) as {
      spec: { template: { spec: { containers: Array<{ resources: { requests: { memory: string }; limits: { memory: string } } }> } } };
    };
    const { resources } = deployment.spec.template.spec.containers[0]!;
    expect(readme).toContain(`requests 50m CPU and ${resources.requests.memory} memory`);
    expect(readme).toContain(`limit ${resources.limits.memory} memory`);
    expect(readme).toContain(`Give the container ${resources.limits.memory.replace('Mi', ' MiB')}`);
  });
});
