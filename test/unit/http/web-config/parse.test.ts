import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/config/errors.js';
import { createLogger } from '../../../../src/lib/logger.js';
import { loadWebConfig, parseWebConfig, type WebConfig } from '../../../../src/http/web-config/parse.js';
import { openWebConfig } from '../../../../src/http/web-config/source.js';
import { requireProgram } from '../../../support/external.js';
import { makeCerts } from '../../../fixtures/web-config/make-certs.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../fixtures/web-config');
const GOOD = readdirSync(path.join(FIXTURES, 'good')).sort();

/** Each bad fixture, the exact problems it must give ({dir} = its directory), and whether promtool of Prometheus 2.42 rejects it too. */
const BAD: { file: string; problems: string[]; promtoolRejects: boolean }[] = [
  {
    file: 'unknown-top-level-field.yml',
    problems: [
      'rate_limit: unknown field (exporter-toolkit v0.8 knows tls_server_config, http_server_config, basic_auth_users)',
    ],
    promtoolRejects: true,
  },
  {
    file: 'client-allowed-sans.yml',
    problems: [
      'tls_server_config.client_allowed_sans: unknown field (exporter-toolkit v0.8 knows cert_file, key_file, client_auth_type, client_ca_file, cipher_suites, curve_preferences, min_version, max_version, prefer_server_cipher_suites)',
    ],
    promtoolRejects: true,
  },
  {
    file: 'bad-client-auth-type.yml',
    problems: [
      'tls_server_config.client_auth_type: "RequireAndVerify" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert',
    ],
    promtoolRejects: true,
  },
  {
    file: 'bad-min-version.yml',
    problems: ['tls_server_config.min_version: "TLS14" is not one of TLS10, TLS11, TLS12, TLS13'],
    promtoolRejects: true,
  },
  {
    // promtool accepts it; Go then fails every handshake. We say so at start.
    file: 'min-above-max.yml',
    problems: ['tls_server_config.min_version: TLS13 is higher than max_version TLS12'],
    promtoolRejects: false,
  },
  {
    file: 'missing-cert-file.yml',
    problems: ['tls_server_config.cert_file: file "{dir}/missing.crt" does not exist'],
    promtoolRejects: true,
  },
  {
    file: 'key-without-cert.yml',
    problems: ['tls_server_config.cert_file: required when tls_server_config is used'],
    promtoolRejects: true,
  },
  {
    // promtool accepts it (Go falls back to the system roots); we refuse to trust public CAs for client auth.
    file: 'verify-without-client-ca.yml',
    problems: [
      'tls_server_config.client_ca_file: required when client_auth_type is RequireAndVerifyClientCert (the CA that signs the client certificates)',
    ],
    promtoolRejects: false,
  },
  {
    file: 'client-ca-without-client-auth.yml',
    problems: [
      'tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert, so no client certificate is asked for',
    ],
    promtoolRejects: true,
  },
  {
    file: 'key-of-another-cert.yml',
    problems: ['tls_server_config.key_file: "{dir}/client.key" is not the private key of cert_file "{dir}/server.crt"'],
    promtoolRejects: true,
  },
  {
    file: 'cert-file-holds-a-key.yml',
    problems: ['tls_server_config.cert_file: "{dir}/server.key" holds no PEM certificate'],
    promtoolRejects: true,
  },
  {
    file: 'unknown-cipher.yml',
    problems: [
      'tls_server_config.cipher_suites[0]: unknown cipher suite "TLS_RSA_WITH_RC4_128_SHA" (Go\'s tls.CipherSuites() names, listed in docs/web-config.md)',
    ],
    promtoolRejects: true,
  },
  {
    file: 'unknown-curve.yml',
    problems: [
      'tls_server_config.curve_preferences[0]: "CurveP224" is not one of CurveP256, CurveP384, CurveP521, X25519',
    ],
    promtoolRejects: true,
  },
  {
    file: 'password-not-hashed.yml',
    problems: [
      'basic_auth_users.alice: not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters); make one with htpasswd -nBC 10 "" | tr -d \':\\n\'',
    ],
    promtoolRejects: true,
  },
  {
    file: 'bcrypt-cost-too-low.yml',
    problems: ['basic_auth_users.alice: bcrypt cost 3 is outside 4-31'],
    promtoolRejects: true,
  },
  {
    file: 'header-not-configurable.yml',
    problems: [
      'http_server_config.headers.X-Powered-By: this header cannot be configured (exporter-toolkit allows Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)',
    ],
    promtoolRejects: true,
  },
  {
    file: 'header-bad-value.yml',
    problems: ['http_server_config.headers.X-Frame-Options: "DENY" is not one of deny, sameorigin'],
    promtoolRejects: true,
  },
  {
    file: 'http2-not-boolean.yml',
    problems: ['http_server_config.http2: must be true or false, got a string'],
    promtoolRejects: true,
  },
  { file: 'not-a-mapping.yml', problems: ['web config: must be a YAML mapping, got a list'], promtoolRejects: true },
];

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

const noFiles = (p: string): never => {
  throw Object.assign(new Error(`unexpected read of ${p}`), { code: 'ENOENT' });
};

describe('parseWebConfig without certificates', () => {
  it('accepts an empty file as plain HTTP without authentication', () => {
    expect(parseWebConfig('', '/etc', noFiles)).toEqual({
      tls: undefined,
      basicAuthUsers: new Map(),
      headers: {},
      http2: true,
    });
    expect(parseWebConfig('tls_server_config:\nhttp_server_config:\n', '/etc', noFiles).tls).toBeUndefined();
    // Empty paths mean "not set" in exporter-toolkit, so this is no TLS rather than an error.
    expect(parseWebConfig('tls_server_config: {cert_file: "", key_file: ""}', '/etc', noFiles).tls).toBeUndefined();
  });

  it('reads users and headers, dropping blank header values as exporter-toolkit does', () => {
    const cfg = parseWebConfig(
      readFileSync(path.join(FIXTURES, 'good/basic-auth.yml'), 'utf8') +
        'http_server_config:\n  http2: false\n  headers:\n    X-XSS-Protection: ""\n    Strict-Transport-Security: max-age=60\n',
      '/etc',
      noFiles,
    );
    expect([...cfg.basicAuthUsers.keys()]).toEqual(['alice', 'bob']);
    expect(cfg.basicAuthUsers.get('alice')).toMatch(/^\$2b\$04\$/);
    expect(cfg.headers).toEqual({ 'Strict-Transport-Security': 'max-age=60' });
    expect(cfg.http2).toBe(false);
  });

  it('refuses header names and values that Node would refuse in setHeader, naming the header but not the value', () => {
    const problems = problemsOf(() =>
      parseWebConfig(
        'http_server_config:\n  headers:\n    "X Frame": deny\n    Content-Security-Policy: "default-src ’self’"\n    Strict-Transport-Security: "max-age=\\x0160"\n',
        '/etc',
        noFiles,
      ),
    );
    expect(problems).toEqual([
      'http_server_config.headers: header name "X\\u{20}Frame" is not a valid HTTP token: U+0020 at character 2',
      "http_server_config.headers.Content-Security-Policy: the value holds U+2019 (a typographic quote where ' was meant) at character 13, which an HTTP header cannot carry (only tab, visible ASCII and Latin-1 can be sent)",
      'http_server_config.headers.Strict-Transport-Security: the value holds U+0001 at character 9, which an HTTP header cannot carry (only tab, visible ASCII and Latin-1 can be sent)',
    ]);
  });

  it('lists every problem at once, one line each', () => {
    const problems = problemsOf(() =>
      parseWebConfig(
        'tls_server_config:\n  cert_file: 7\n  client_auth_type: Nope\nhttp_server_config:\n  headers:\n    x-frame-options: deny\nbasic_auth_users:\n  "a:b": "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"\n',
        '/etc',
        noFiles,
      ),
    );
    expect(problems).toEqual([
      'tls_server_config.cert_file: must be a string, got a number',
      'tls_server_config.client_auth_type: "Nope" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert',
      'tls_server_config.key_file: required when tls_server_config is used',
      'http_server_config.headers.x-frame-options: this header cannot be configured (exporter-toolkit allows Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)',
      'basic_auth_users.a:b: a user name must be non-empty and contain no colon',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(problemsOf(() => parseWebConfig('basic_auth_users: [unclosed\n', '/etc', noFiles))[0]).toMatch(
      /^YAML syntax error at line \d+, column \d+: /,
    );
    expect(problemsOf(() => parseWebConfig('basic_auth_users: {}\nbasic_auth_users: {}\n', '/etc', noFiles))).toEqual([
      'YAML syntax error at line 2, column 1: duplicate key',
    ]);
  });

  it('never echoes a password, hash or other secret value in a message', () => {
    const secret = 'hunter2-plain-text';
    const problems = problemsOf(() =>
      parseWebConfig(`basic_auth_users:\n  alice: ${secret}\n  bob: 12345\n`, '/etc', noFiles),
    );
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems.join('\n')).not.toContain('12345');
  });

  it('never quotes the YAML source in a syntax message (a plain-text password was printed: issue 12)', () => {
    const secret = 'hunter2PlainTextPassword';
    for (const text of [
      `%${secret}\n---\nbasic_auth_users: {}\n`,
      `basic_auth_users:\n  alice: *${secret}\n`,
      `basic_auth_users:\n  alice: !${secret} x\n`,
    ]) {
      const problems = problemsOf(() => parseWebConfig(text, '/etc', noFiles));
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('\n')).not.toContain(secret);
    }
  });

  it('says that deeply nested YAML is nested too deeply, not that it has too many aliases', () => {
    for (const text of [
      `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
      Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n',
    ]) {
      const problems = problemsOf(() => parseWebConfig(text, '/etc', noFiles));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/nested too deeply/);
      expect(problems[0]).not.toMatch(/alias/);
    }
  });

  it('refuses a YAML alias bomb instead of expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10)
          .fill(`*${'abcdefghij'[i - 1]}`)
          .join(',')}]`,
      );
    expect(problemsOf(() => parseWebConfig(bomb.join('\n'), '/etc', noFiles))[0]).toMatch(/^YAML: /);
  });

  it('names the file in every problem when loading from disk, and says when it is missing', () => {
    expect(problemsOf(() => loadWebConfig('/nonexistent/web.yml'))).toEqual([
      'web config file "/nonexistent/web.yml" does not exist',
    ]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zexa-web-big-'));
    try {
      const big = path.join(dir, 'web.yml');
      writeFileSync(big, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
      expect(problemsOf(() => loadWebConfig(big))).toEqual([`web config file "${big}" is larger than 1 MiB`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const file = path.join(FIXTURES, 'bad/header-bad-value.yml');
    expect(problemsOf(() => loadWebConfig(file))).toEqual([
      `web config file ${file}: http_server_config.headers.X-Frame-Options: "DENY" is not one of deny, sameorigin`,
    ]);
  });
});

const openssl = requireProgram(['openssl'], 'openssl');
const promtool = requireProgram(['promtool'], 'prometheus');

describe.skipIf(openssl.missing)('web config fixtures with certificates made by openssl', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'zexa-web-config-'));
    makeCerts(openssl.path as string, dir);
    for (const kind of ['good', 'bad']) {
      for (const f of readdirSync(path.join(FIXTURES, kind)))
        copyFileSync(path.join(FIXTURES, kind, f), path.join(dir, f));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const parseFixture = (file: string): WebConfig =>
    parseWebConfig(readFileSync(path.join(dir, file), 'utf8'), dir, (p) => readFileSync(p));

  it.each(GOOD)('good/%s parses', (file) => {
    expect(() => parseFixture(file)).not.toThrow();
  });

  it.each(BAD)('bad/$file gives its exact problems', ({ file, problems }) => {
    expect(problemsOf(() => parseFixture(file))).toEqual(problems.map((p) => p.replaceAll('{dir}', dir)));
  });

  it('maps every v0.8 TLS field onto Node options, resolving paths against the file', () => {
    const { tls, headers, http2 } = parseFixture('all-fields.yml');
    expect(tls).toMatchObject({
      certFile: path.join(dir, 'server.crt'),
      keyFile: path.join(dir, 'server.key'),
      clientCaFile: path.join(dir, 'ca.crt'),
      clientAuthType: 'VerifyClientCertIfGiven',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      // The TLS 1.3 suite is left to OpenSSL, as Go ignores cipher_suites for TLS 1.3.
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
      ecdhCurve: 'X25519:P-256',
      honorCipherOrder: false,
    });
    expect(tls?.cert.toString()).toBe(readFileSync(path.join(dir, 'server.crt'), 'utf8'));
    expect(tls?.key.toString()).toBe(readFileSync(path.join(dir, 'server.key'), 'utf8'));
    expect(Object.keys(headers)).toHaveLength(5);
    expect(http2).toBe(false);
    expect(parseFixture('require-client-cert-legacy.yml').tls?.clientAuthType).toBe('RequireAnyClientCert');
    expect(parseFixture('tls.yml').tls).toMatchObject({
      clientAuthType: 'NoClientCert',
      minVersion: 'TLSv1.2',
      ciphers: undefined,
    });
  });

  it('keeps the private key out of anything that serializes the config (logs)', () => {
    const cfg = parseFixture('tls-client-auth.yml');
    expect(JSON.stringify(cfg)).not.toContain('PRIVATE KEY');
    expect(cfg.tls?.key.toString()).toContain('PRIVATE KEY');
  });

  it('refuses a client_ca_file without a certificate in it', () => {
    writeFileSync(path.join(dir, 'empty-ca.crt'), 'not a certificate\n');
    const text =
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: empty-ca.crt\n';
    expect(problemsOf(() => parseWebConfig(text, dir, (p) => readFileSync(p)))).toEqual([
      `tls_server_config.client_ca_file: "${path.join(dir, 'empty-ca.crt')}" holds no PEM certificate`,
    ]);
  });

  describe.skipIf(promtool.missing)('promtool check web-config (Prometheus 2.42) agrees', () => {
    const check = (file: string): boolean => {
      try {
        execFileSync(promtool.path as string, ['check', 'web-config', path.join(dir, file)], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    };
    it.each(GOOD)('accepts good/%s', (file) => {
      expect(check(file)).toBe(true);
    });
    it.each(BAD.filter((b) => b.promtoolRejects))('rejects bad/$file', ({ file }) => {
      expect(check(file)).toBe(false);
    });
    it.each(BAD.filter((b) => !b.promtoolRejects))('accepts bad/$file, which we refuse on purpose', ({ file }) => {
      expect(check(file)).toBe(true);
    });
  });
});

describe('openWebConfig follows its file', () => {
  const hashA = '$2b$04$BnMqpyudP4ena7lm0PfizepvqFy6DJlZtGNEAu1K0miO1kCw8SCn6';
  const hashB = '$2b$04$6dwTB/AAVy6lX7dAupFT5OPvxAL7NtNnaTiIR6dujgBdp4NOSytNi';

  function setup(): { file: string; lines: string[]; clock: { t: number }; cleanup: () => void } {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zexa-web-reload-'));
    const file = path.join(dir, 'web.yml');
    writeFileSync(file, `basic_auth_users:\n  alice: "${hashA}"\n`);
    return { file, lines: [], clock: { t: 0 }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it('re-reads a changed file at most once per interval and tells listeners', () => {
    const { file, lines, clock, cleanup } = setup();
    try {
      const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
      const web = openWebConfig(file, { logger, now: () => clock.t, checkIntervalMs: 1000 });
      const seen: WebConfig[] = [];
      web.onReload((c) => seen.push(c));
      writeFileSync(file, `basic_auth_users:\n  bob: "${hashB}"\n`);
      clock.t = 999;
      expect([...web.current().basicAuthUsers.keys()]).toEqual(['alice']);
      clock.t = 1000;
      expect([...web.current().basicAuthUsers.keys()]).toEqual(['bob']);
      expect(seen).toHaveLength(1);
      clock.t = 5000;
      web.current();
      expect(seen).toHaveLength(1);
      expect(lines.filter((l) => l.includes('web config reloaded'))).toHaveLength(1);
    } finally {
      cleanup();
    }
  });

  it('keeps the last good config when the new one is broken, logging the problem once', () => {
    const { file, lines, clock, cleanup } = setup();
    try {
      const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
      const outcomes: boolean[] = [];
      const web = openWebConfig(file, {
        logger,
        now: () => clock.t,
        checkIntervalMs: 1000,
        onReloadResult: (ok) => outcomes.push(ok),
      });
      writeFileSync(file, 'basic_auth_users:\n  alice: plain-text-oops\n');
      for (let i = 1; i <= 5; i++) {
        clock.t = i * 1000;
        expect(web.current().basicAuthUsers.get('alice')).toBe(hashA);
      }
      const errors = lines.filter((l) => l.includes('web config reload failed'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('basic_auth_users.alice: not a bcrypt hash');
      expect(errors[0]).not.toContain('plain-text-oops');
      // Fixed again: picked up at the next look.
      writeFileSync(file, `basic_auth_users:\n  carol: "${hashB}"\n`);
      clock.t = 10_000;
      expect(outcomes).toEqual([false]);
      expect([...web.current().basicAuthUsers.keys()]).toEqual(['carol']);
      expect(outcomes).toEqual([false, true]);
    } finally {
      cleanup();
    }
  });

  it.skipIf(openssl.missing)('refuses to switch TLS on without a restart', () => {
    const { file, lines, clock, cleanup } = setup();
    try {
      makeCerts(openssl.path as string, path.dirname(file));
      const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
      const web = openWebConfig(file, { logger, now: () => clock.t, checkIntervalMs: 1000 });
      writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
      clock.t = 1000;
      expect(web.current().tls).toBeUndefined();
      expect(lines.join('')).toContain('switching TLS on needs a restart');
    } finally {
      cleanup();
    }
  });
});
