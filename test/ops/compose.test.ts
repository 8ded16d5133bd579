/**
 * docker-compose.yml (no Docker engine here, so the file is checked, not run): every mounted
 * host file exists, and the ports and hostnames agree with prometheus.yml and the Grafana
 * provisioning files.
 */
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import { readRepoFile } from './ops-files.js';

interface Service {
  build?: unknown;
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}
const compose = parse(readRepoFile('docker-compose.yml')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const prom = parse(readRepoFile('prometheus.yml')) as {
  rule_files: string[];
  alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
};

function service(name: string): Service {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}
function bindMounts(s: Service): Array<{ host: string; container: string }> {
  return (s.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([host]) => host !== undefined && host.startsWith('.'))
    .map(([host, container]) => ({ host: host!, container: container! }));
}
function publishedContainerPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => Number(p.split(':').at(-1)));
}

describe('docker-compose.yml', () => {
  it('runs the exporter, Prometheus, Alertmanager and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'grafana', 'prometheus', 'zexa-exporter']);
    expect(service('zexa-exporter').build).toBeDefined();
    for (const name of ['prometheus', 'alertmanager', 'grafana'])
      expect(service(name).image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
  });

  it('mounts only host files and directories that exist', () => {
    const mounts = Object.values(compose.services).flatMap(bindMounts);
    expect(mounts.length).toBeGreaterThanOrEqual(7);
    for (const { host } of mounts) expect(existsSync(join(REPO_ROOT, host)), host).toBe(true);
  });

  it('declares every named volume it uses', () => {
    const named = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':')[0]!)
      .filter((v) => !v.startsWith('.') && !v.startsWith('/'));
    for (const v of named) expect(compose.volumes ?? {}, v).toHaveProperty(v);
  });

  it('mounts prometheus.yml where Prometheus reads it, and the rules where prometheus.yml names them', () => {
    const p = service('prometheus');
    const configFlag = p.command?.find((c) => c.startsWith('--config.file='));
    const configPath = configFlag?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
    const mounts = bindMounts(p);
    expect(mounts).toContainEqual({ host: './prometheus.yml', container: configPath });
    for (const ruleFile of prom.rule_files) {
      const inContainer = posix.resolve(posix.dirname(configPath), ruleFile);
      const mount = mounts.find((m) => m.container === inContainer);
      expect(mount, `${ruleFile} mounted at ${inContainer}`).toBeDefined();
      // The same relative path works from the repository root (promtool check config).
      expect(posix.normalize(mount!.host)).toBe(posix.normalize(ruleFile));
    }
  });

  it('has Prometheus scrape the exporter and alert to Alertmanager on the ports they listen on', () => {
    const zexaJob = prom.scrape_configs.find((j) => j.job_name === 'zexa')!;
    const [target] = zexaJob.static_configs.flatMap((c) => c.targets);
    const [host, port] = target!.split(':');
    expect(compose.services).toHaveProperty(host!);
    expect(port).toBe('10025');
    expect(publishedContainerPorts(service(host!))).toContain(10025);

    const [amTarget] = prom.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets));
    const [amHost, amPort] = amTarget!.split(':');
    expect(compose.services).toHaveProperty(amHost!);
    expect(publishedContainerPorts(service(amHost!))).toContain(Number(amPort));
    const amConfig = service(amHost!)
      .command?.find((c) => c.startsWith('--config.file='))
      ?.slice('--config.file='.length);
    expect(bindMounts(service(amHost!))).toContainEqual({
      host: './alertmanager/alertmanager.yml',
      container: amConfig,
    });
  });

  it('points Grafana at the Prometheus service and provisions the dashboard directory the provider reads', () => {
    const ds = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yaml')) as {
      datasources: Array<{ url: string }>;
    };
    const url = new URL(ds.datasources[0]!.url);
    expect(compose.services).toHaveProperty(url.hostname);
    expect(publishedContainerPorts(service(url.hostname))).toContain(Number(url.port));

    const provider = parse(readRepoFile('grafana/provisioning/dashboards/zexa.yaml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const g = bindMounts(service('grafana'));
    expect(g).toContainEqual({ host: './grafana/dashboards', container: provider.providers[0]!.options.path });
    for (const kind of ['datasources', 'dashboards', 'alerting']) {
      expect(g).toContainEqual({
        host: `./grafana/provisioning/${kind}`,
        container: `/etc/grafana/provisioning/${kind}`,
      });
    }
  });

  it('requires ZEXA_API_KEY from the environment instead of holding a key', () => {
    expect(service('zexa-exporter').environment?.ZEXA_API_KEY).toMatch(/^\$\{ZEXA_API_KEY:\?/);
  });
});
