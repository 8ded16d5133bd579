/**
 * deploy/systemd/zexa-exporter.service: what it asks of systemd, and that `systemd-analyze verify`
 * accepts it without a word. The verify against a real `npm install -g` of the package is in
 * test/ops/npm-package.test.ts; here the unit's program is this Node.js, so the check of the
 * unit's own text runs without an install.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireProgram } from '../support/external.js';
import { readRepoFile } from './ops-files.js';
import { verifyUnit } from './systemd.js';

const systemdAnalyze = requireProgram(['systemd-analyze'], 'systemd');
const unit = readRepoFile('deploy/systemd/zexa-exporter.service');

/** `Key=value` lines of the [Service] section; a key given twice keeps every value. */
function serviceSettings(text: string): Map<string, string[]> {
  const section = /^\[Service\]\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const settings = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const match = /^(\w+)=(.*)$/.exec(line.trim());
    if (match !== null) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }
  return settings;
}

describe('deploy/systemd/zexa-exporter.service', () => {
  const settings = serviceSettings(unit);
  const one = (key: string) => settings.get(key)?.at(-1);

  it('runs the npm-installed command as a dynamic user, with the settings file and the key as a credential', () => {
    expect(one('ExecStart')).toBe('/usr/local/bin/zexa-exporter');
    expect(one('DynamicUser')).toBe('yes');
    expect(one('EnvironmentFile')).toBe('-/etc/default/zexa-exporter');
    expect(one('LoadCredential')).toBe('api-key:/etc/zexa-exporter/api-key');
    expect(settings.get('Environment')).toContain('ZEXA_API_KEY_FILE=%d/api-key');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // The example settings file names no key (the key is the credential) and only ZEXA_ variables.
    const example = readRepoFile('deploy/systemd/zexa-exporter.env');
    const variables = [...example.matchAll(/^#?([A-Z_]+)=/gm)].map((m) => m[1]);
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.every((v) => v!.startsWith('ZEXA_EXPORTER_') || v === 'ZEXA_POLL_INTERVAL')).toBe(true);
  });

  it('is hardened: no new privileges, a read-only system, no home, a private /tmp, IP and local sockets only', () => {
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    // V8 writes machine code at run time: this would kill the process at start.
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('caps memory where the Kubernetes limit does (both from BENCHMARKS.md)', () => {
    const deployment = parse(readRepoFile('deploy/kubernetes/base/deployment.yaml')) as {
      spec: { template: { spec: { containers: Array<{ resources: { limits: { memory: string } } }> } } };
    };
    const limit = deployment.spec.template.spec.containers[0]!.resources.limits.memory;
    expect(limit).toMatch(/^\d+Mi$/);
    expect(one('MemoryMax')).toBe(`${parseInt(limit, 10)}M`);
  });

  describe.skipIf(systemdAnalyze.missing)('systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zexa-systemd-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** The unit with its program replaced by this Node.js: verify requires an executable there. */
    function withProgram(text: string): string {
      const file = join(dir, 'zexa-exporter.service');
      writeFileSync(
        file,
        text.replace(/^ExecStart=\/usr\/local\/bin\/zexa-exporter$/m, `ExecStart=${process.execPath}`),
      );
      return file;
    }

    it('accepts the unit without a warning', async () => {
      expect(await verifyUnit(systemdAnalyze.path!, withProgram(unit))).toEqual({ code: 0, output: '' });
    });

    it('has teeth: a misspelt key and a bad value are caught, though verify exits 0 on them', async () => {
      const verdict = await verifyUnit(
        systemdAnalyze.path!,
        withProgram(unit.replace('ProtectHome=yes', 'ProtectHomes=yes').replace('MemoryMax=', 'MemoryMax=lots')),
      );
      expect(verdict.code).toBe(0);
      expect(verdict.output).toContain("Unknown key 'ProtectHomes' in section [Service], ignoring.");
      expect(verdict.output).toContain("Invalid memory limit 'lots320M', ignoring");
    });
  });
});
