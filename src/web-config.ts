/**
 * The web config file of Prometheus' exporter-toolkit (`--web.config.file`), so one file serves
 * this exporter and the team's Go exporters alike. Only the fields exporter-toolkit v0.8 knows
 * (the version inside Prometheus 2.42 and its `promtool check web-config`) are accepted; unknown
 * fields are errors, as they are for `yaml.UnmarshalStrict` there. How each field maps onto
 * Node's TLS stack is in docs/web-config.md.
 *
 * Parsing is pure (`parseWebConfig`, file reads injected); `loadWebConfig` reads the file;
 * `openWebConfig` re-reads it, like exporter-toolkit, when it or a certificate changes;
 * `createHttpServer` builds the http or https server. Basic auth and headers are in web-auth.ts.
 */
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { ConfigError } from './errors.js';
import { FILE_CAP_BYTES, readBytesBounded } from './lib/bounded-read.js';
import { fileReadDefect } from './lib/errno.js';
import { loadYaml } from './lib/yaml.js';
import type { Logger } from './logger.js';
import { headerNameProblem, headerValueProblem } from './web-headers.js';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
export type TlsVersionName = keyof typeof TLS_VERSIONS;

/**
 * Go's `tls.CipherSuites()` names (what exporter-toolkit accepts) → OpenSSL names. `null` marks
 * TLS 1.3 suites: Go ignores `cipher_suites` for TLS 1.3, so they are accepted and left out here.
 */
const CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** exporter-toolkit's curve names → OpenSSL group names. */
const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/**
 * The only response headers exporter-toolkit lets a web config set, with the values allowed where
 * it restricts them (`extraHTTPHeaders` in its handler.go); names are case-sensitive there too.
 */
export const CONFIGURABLE_HEADERS: Readonly<Record<string, readonly string[] | null>> = {
  'Content-Security-Policy': null,
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
};

const TOP_LEVEL_FIELDS = ['tls_server_config', 'http_server_config', 'basic_auth_users'];
const TLS_FIELDS = [
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'cipher_suites',
  'curve_preferences',
  'min_version',
  'max_version',
  'prefer_server_cipher_suites',
];
const HTTP_FIELDS = ['http2', 'headers'];

/** `$2$`, `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export interface WebTlsConfig {
  /** Absolute paths, resolved against the web config file's directory. */
  certFile: string;
  keyFile: string;
  clientCaFile: string | undefined;
  /** PEM bytes as read at load time. `key` is not enumerable so it never lands in a log record. */
  cert: Buffer;
  readonly key: Buffer;
  ca: Buffer | undefined;
  clientAuthType: ClientAuthType;
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2, or undefined for Node's defaults. */
  ciphers: string | undefined;
  /** OpenSSL group list, or undefined for Node's defaults. */
  ecdhCurve: string | undefined;
  honorCipherOrder: boolean;
}

export interface WebConfig {
  tls: WebTlsConfig | undefined;
  /** user → bcrypt hash. Empty: no basic auth. */
  basicAuthUsers: Map<string, string>;
  /** Extra response headers (http_server_config.headers). */
  headers: Record<string, string>;
  /**
   * http_server_config.http2, kept for fidelity. Node's https server speaks HTTP/1.1 only, which
   * every HTTP/2 client negotiates down to via ALPN, so it changes nothing here.
   */
  http2: boolean;
}

type Problems = string[];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A mapping, or undefined for an absent or null section (as Go's zero value); else a problem. */
function section(value: unknown, field: string, problems: Problems): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (isMapping(value)) return value;
  problems.push(`${field}: must be a mapping, got ${describe(value)}`);
  return undefined;
}

function rejectUnknown(obj: Record<string, unknown>, known: readonly string[], prefix: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      problems.push(`${prefix}${key}: unknown field (exporter-toolkit v0.8 knows ${known.join(', ')})`);
    }
  }
}

function optionalString(obj: Record<string, unknown>, key: string, field: string, problems: Problems): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    problems.push(`${field}: must be a string, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

function optionalBoolean(obj: Record<string, unknown>, key: string, field: string, problems: Problems): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    problems.push(`${field}: must be true or false, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

function optionalStringList(obj: Record<string, unknown>, key: string, field: string, problems: Problems): string[] {
  const value = obj[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field}: must be a list of strings, got ${describe(value)}`);
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, i) => {
    if (typeof item === 'string') out.push(item);
    else problems.push(`${field}[${i}]: must be a string, got ${describe(item)}`);
  });
  return out;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string, problems: Problems): T | undefined {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return undefined;
}

function readFileNamed(
  file: string,
  field: string,
  readFile: (p: string) => string | Buffer,
  problems: Problems,
): Buffer | undefined {
  try {
    const content = readFile(file);
    return Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  } catch (err) {
    problems.push(`${field}: file ${JSON.stringify(file)} ${fileReadDefect(err)}`);
    return undefined;
  }
}

/** Every PEM certificate in `pem`; throws when a CERTIFICATE block does not parse. */
function pemCertificates(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

function parseTls(
  obj: Record<string, unknown>,
  baseDir: string,
  readFile: (p: string) => string | Buffer,
  problems: Problems,
): WebTlsConfig | undefined {
  const P = 'tls_server_config.';
  rejectUnknown(obj, TLS_FIELDS, P, problems);
  const resolve = (p: string | undefined): string | undefined =>
    p === undefined || p === '' ? undefined : path.resolve(baseDir, p);
  const certFile = resolve(optionalString(obj, 'cert_file', `${P}cert_file`, problems));
  const keyFile = resolve(optionalString(obj, 'key_file', `${P}key_file`, problems));
  const clientCaFile = resolve(optionalString(obj, 'client_ca_file', `${P}client_ca_file`, problems));
  const clientAuthRaw = optionalString(obj, 'client_auth_type', `${P}client_auth_type`, problems);
  const before = problems.length;

  let clientAuthType: ClientAuthType | undefined = 'NoClientCert';
  if (clientAuthRaw !== undefined && clientAuthRaw !== '') {
    // exporter-toolkit still accepts the pre-0.5 spelling.
    const name = clientAuthRaw === 'RequireClientCert' ? 'RequireAnyClientCert' : clientAuthRaw;
    clientAuthType = oneOf(name, CLIENT_AUTH_TYPES, `${P}client_auth_type`, problems);
  }

  const version = (key: 'min_version' | 'max_version', fallback: TlsVersionName): TlsVersionName | undefined => {
    const raw = optionalString(obj, key, `${P}${key}`, problems);
    if (raw === undefined) return fallback;
    return oneOf(raw, Object.keys(TLS_VERSIONS) as TlsVersionName[], `${P}${key}`, problems);
  };
  const minName = version('min_version', 'TLS12');
  const maxName = version('max_version', 'TLS13');
  if (minName !== undefined && maxName !== undefined && minName > maxName) {
    // Go accepts this and then fails every handshake; say so up front instead.
    problems.push(`${P}min_version: ${minName} is higher than max_version ${maxName}`);
  }

  const ciphers: string[] = [];
  optionalStringList(obj, 'cipher_suites', `${P}cipher_suites`, problems).forEach((name, i) => {
    const openssl = Object.hasOwn(CIPHER_SUITES, name) ? CIPHER_SUITES[name] : undefined;
    if (openssl === undefined) {
      problems.push(`${P}cipher_suites[${i}]: unknown cipher suite ${JSON.stringify(name)} (Go's tls.CipherSuites() names, listed in docs/web-config.md)`);
    } else if (openssl !== null) {
      ciphers.push(openssl);
    }
  });
  const curves: string[] = [];
  optionalStringList(obj, 'curve_preferences', `${P}curve_preferences`, problems).forEach((name, i) => {
    const group = Object.hasOwn(CURVES, name) ? CURVES[name] : undefined;
    if (group === undefined) {
      problems.push(`${P}curve_preferences[${i}]: ${JSON.stringify(name)} is not one of ${Object.keys(CURVES).join(', ')}`);
    } else {
      curves.push(group);
    }
  });
  const honorCipherOrder = optionalBoolean(obj, 'prefer_server_cipher_suites', `${P}prefer_server_cipher_suites`, problems) ?? true;

  // As in exporter-toolkit: a section with none of these set means plain HTTP.
  const enabled = certFile !== undefined || keyFile !== undefined || clientCaFile !== undefined || (clientAuthRaw ?? '') !== '';
  if (!enabled) return undefined;
  const absent = (key: string): boolean => obj[key] === undefined || obj[key] === null || obj[key] === '';
  if (absent('cert_file')) problems.push(`${P}cert_file: required when tls_server_config is used`);
  if (absent('key_file')) problems.push(`${P}key_file: required when tls_server_config is used`);
  if (clientAuthType === 'NoClientCert' && clientCaFile !== undefined) {
    problems.push(`${P}client_ca_file: set, but client_auth_type is NoClientCert, so no client certificate is asked for`);
  }
  if ((clientAuthType === 'RequireAndVerifyClientCert' || clientAuthType === 'VerifyClientCertIfGiven') && clientCaFile === undefined) {
    // Go would fall back to the system roots; Node to its bundled public CAs. Either way any
    // publicly issued certificate would pass, which is never what client auth is for.
    problems.push(`${P}client_ca_file: required when client_auth_type is ${clientAuthType} (the CA that signs the client certificates)`);
  }
  if (problems.length > before || certFile === undefined || keyFile === undefined) return undefined;

  const cert = readFileNamed(certFile, `${P}cert_file`, readFile, problems);
  const key = readFileNamed(keyFile, `${P}key_file`, readFile, problems);
  const ca = clientCaFile === undefined ? undefined : readFileNamed(clientCaFile, `${P}client_ca_file`, readFile, problems);
  if (cert === undefined || key === undefined || (clientCaFile !== undefined && ca === undefined)) return undefined;

  let certOk = true;
  try {
    if (pemCertificates(cert).length === 0) {
      problems.push(`${P}cert_file: ${JSON.stringify(certFile)} holds no PEM certificate`);
      certOk = false;
    }
  } catch {
    problems.push(`${P}cert_file: ${JSON.stringify(certFile)} holds a certificate that does not parse`);
    certOk = false;
  }
  if (ca !== undefined) {
    try {
      if (pemCertificates(ca).length === 0) {
        problems.push(`${P}client_ca_file: ${JSON.stringify(clientCaFile)} holds no PEM certificate`);
      }
    } catch {
      problems.push(`${P}client_ca_file: ${JSON.stringify(clientCaFile)} holds a certificate that does not parse`);
    }
  }
  if (!certOk || problems.length > before) return undefined;

  const config = {
    certFile,
    keyFile,
    clientCaFile,
    cert,
    ca,
    clientAuthType: clientAuthType ?? 'NoClientCert',
    minVersion: TLS_VERSIONS[minName ?? 'TLS12'],
    maxVersion: TLS_VERSIONS[maxName ?? 'TLS13'],
    ciphers: ciphers.length > 0 ? ciphers.join(':') : undefined,
    ecdhCurve: curves.length > 0 ? curves.join(':') : undefined,
    honorCipherOrder,
  } as WebTlsConfig;
  Object.defineProperty(config, 'key', { value: key, enumerable: false });

  // What the server will do at start: this catches a key that is not a key or belongs to another
  // certificate, and options OpenSSL refuses, while the operator is still reading the output.
  try {
    tls.createSecureContext(secureContextOptions(config));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/key values mismatch/i.test(message)) {
      problems.push(`${P}key_file: ${JSON.stringify(keyFile)} is not the private key of cert_file ${JSON.stringify(certFile)}`);
    } else if (/no start line|unsupported|bad decrypt|decoder/i.test(message)) {
      problems.push(`${P}key_file: ${JSON.stringify(keyFile)} holds no usable unencrypted PEM private key`);
    } else {
      problems.push(`tls_server_config: OpenSSL refused the certificate, key or options: ${message.split('\n')[0] ?? message}`);
    }
    return undefined;
  }
  return config;
}

function parseHttp(obj: Record<string, unknown>, problems: Problems): { headers: Record<string, string>; http2: boolean } {
  const P = 'http_server_config.';
  rejectUnknown(obj, HTTP_FIELDS, P, problems);
  const http2 = optionalBoolean(obj, 'http2', `${P}http2`, problems) ?? true;
  const headers: Record<string, string> = {};
  const raw = section(obj.headers, `${P}headers`, problems);
  for (const [name, value] of Object.entries(raw ?? {})) {
    const nameProblem = headerNameProblem(name);
    if (nameProblem !== undefined) {
      problems.push(`${P}headers: ${nameProblem}`);
      continue;
    }
    const field = `${P}headers.${name}`;
    if (!Object.hasOwn(CONFIGURABLE_HEADERS, name)) {
      problems.push(`${field}: this header cannot be configured (exporter-toolkit allows ${Object.keys(CONFIGURABLE_HEADERS).join(', ')})`);
      continue;
    }
    if (typeof value !== 'string') {
      problems.push(`${field}: must be a string, got ${describe(value)}`);
      continue;
    }
    const allowed = CONFIGURABLE_HEADERS[name];
    if (allowed && !allowed.includes(value)) {
      problems.push(`${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
      continue;
    }
    // Node's own verdict, now rather than as a 500 on every response.
    const valueProblem = headerValueProblem(value);
    if (valueProblem !== undefined) {
      problems.push(`${field}: ${valueProblem}`);
      continue;
    }
    if (value !== '') headers[name] = value;
  }
  return { headers, http2 };
}

function parseUsers(obj: Record<string, unknown>, problems: Problems): Map<string, string> {
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(obj)) {
    const field = `basic_auth_users.${user}`;
    if (user === '' || user.includes(':')) {
      // Basic auth splits user and password at the first colon: such a user could never log in.
      problems.push(`${field === 'basic_auth_users.' ? 'basic_auth_users' : field}: a user name must be non-empty and contain no colon`);
      continue;
    }
    // Never echo the value: if it is not a hash, it may well be a plain-text password.
    const match = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
    const cost = match?.[1] === undefined ? NaN : Number(match[1]);
    if (typeof hash !== 'string' || match === null) {
      problems.push(`${field}: not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters); make one with htpasswd -nBC 10 "" | tr -d ':\\n'`);
    } else if (cost < 4 || cost > 31) {
      problems.push(`${field}: bcrypt cost ${cost} is outside 4-31`);
    } else {
      users.set(user, hash);
    }
  }
  return users;
}

/**
 * Parses a web config. `baseDir` is the config file's directory: relative certificate paths
 * resolve against it, as in exporter-toolkit. The certificate, key and CA are read with
 * `readFile` and checked. Throws ConfigError listing every problem, one line each, naming the
 * field; no message contains a password, hash or key material.
 */
export function parseWebConfig(text: string, baseDir: string, readFile: (p: string) => string | Buffer): WebConfig {
  const problems: Problems = [];
  const yaml = loadYaml(text, 'the web config');
  if (!yaml.ok) {
    throw new ConfigError(
      yaml.problems.map((p) =>
        p.message.startsWith('invalid YAML: ')
          ? `YAML syntax error at line ${p.line}, column ${p.col}: ${p.message.slice('invalid YAML: '.length)}`
          : `YAML: line ${p.line}, column ${p.col}: ${p.message}`,
      ),
    );
  }
  let root = yaml.value;
  if (root === undefined || root === null) root = {};
  if (!isMapping(root)) throw new ConfigError([`web config: must be a YAML mapping, got ${describe(root)}`]);
  rejectUnknown(root, TOP_LEVEL_FIELDS, '', problems);

  const tlsSection = section(root.tls_server_config, 'tls_server_config', problems);
  const httpSection = section(root.http_server_config, 'http_server_config', problems);
  const usersSection = section(root.basic_auth_users, 'basic_auth_users', problems);
  const tlsConfig = tlsSection === undefined ? undefined : parseTls(tlsSection, baseDir, readFile, problems);
  const { headers, http2 } = parseHttp(httpSection ?? {}, problems);
  const basicAuthUsers = parseUsers(usersSection ?? {}, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return { tls: tlsConfig, basicAuthUsers, headers, http2 };
}

/**
 * Web configs are a few lines, certificates a few KiB: the cap (FILE_CAP_BYTES) keeps a wrong path
 * (a log, a disk image, /dev/zero) from being slurped, and a FIFO from freezing the process. The
 * file is refused before it is read whole, and the read is synchronous because the middlewares
 * ask for the current config synchronously: bounded in size and never waiting on a writer.
 */
function readCapped(file: string): Buffer {
  return readBytesBounded(file, FILE_CAP_BYTES);
}

/** Reads and parses the web config file once. Problems are prefixed with the file's path. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readCapped(file).toString('utf8');
  } catch (err) {
    throw new ConfigError([`web config file ${JSON.stringify(file)} ${fileReadDefect(err)}`]);
  }
  try {
    return parseWebConfig(text, path.dirname(path.resolve(file)), readCapped);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `web config file ${file}: ${p}`));
    throw err;
  }
}

/** Anything the middlewares and the server accept: a fixed config or one that reloads. */
export interface WebConfigSource {
  /** The config to use now; a reloading source may re-read its files first. */
  current(): WebConfig;
  /** Registers a listener for successful reloads (a fixed config never calls it). */
  onReload?(listener: (config: WebConfig) => void): void;
}

export function asSource(config: WebConfig | WebConfigSource): WebConfigSource {
  return 'current' in config ? config : { current: () => config };
}

export interface OpenWebConfigOptions {
  logger: Logger;
  /** Monotonic milliseconds; injected so tests can step time. */
  now?: () => number;
  /** At most one look at the files per this many milliseconds (default 1000). */
  checkIntervalMs?: number;
  /**
   * Told the outcome of every re-read after a change (not of the first load), so a refused web
   * config shows in `zexa_exporter_config_last_reload_successful` like a refused main config.
   */
  onReloadResult?: (ok: boolean) => void;
}

/**
 * A web config that follows its file the way exporter-toolkit does (it re-reads on every request
 * and every new TLS connection), made cheap: at most once per second it stats the config file and
 * the certificate, key and CA files, and re-reads only when one of them changed. A broken new
 * version is logged once and the last good config stays in force. Switching TLS on or off needs a
 * restart (the listener is already plain or TLS), so such a change is refused the same way.
 */
export class ReloadingWebConfig implements WebConfigSource {
  readonly file: string;
  private config: WebConfig;
  private fingerprint: string;
  private lastCheck: number;
  private readonly listeners: ((config: WebConfig) => void)[] = [];
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly checkIntervalMs: number;
  private readonly onReloadResult: ((ok: boolean) => void) | undefined;

  /** Throws ConfigError when the file is unusable at start. */
  constructor(file: string, options: OpenWebConfigOptions) {
    this.file = file;
    this.logger = options.logger;
    this.now = options.now ?? (() => performance.now());
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.onReloadResult = options.onReloadResult;
    this.config = loadWebConfig(file);
    this.fingerprint = this.computeFingerprint(this.config);
    this.lastCheck = this.now();
  }

  current(): WebConfig {
    const now = this.now();
    if (now - this.lastCheck >= this.checkIntervalMs) {
      this.lastCheck = now;
      this.reloadIfChanged();
    }
    return this.config;
  }

  onReload(listener: (config: WebConfig) => void): void {
    this.listeners.push(listener);
  }

  private computeFingerprint(config: WebConfig): string {
    const files = [this.file, config.tls?.certFile, config.tls?.keyFile, config.tls?.clientCaFile];
    return files
      .map((f) => {
        if (f === undefined) return '-';
        try {
          const s = statSync(f);
          return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }

  private reloadIfChanged(): void {
    const seen = this.computeFingerprint(this.config);
    if (seen === this.fingerprint) return;
    // Remembered even on failure, so a broken file is logged once, not once a second.
    this.fingerprint = seen;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.file);
      if ((next.tls === undefined) !== (this.config.tls === undefined)) {
        throw new ConfigError([
          `web config file ${this.file}: switching TLS ${next.tls === undefined ? 'off' : 'on'} needs a restart`,
        ]);
      }
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      this.logger.error({ file: this.file, problems }, 'web config reload failed; keeping the previous one');
      this.onReloadResult?.(false);
      return;
    }
    this.config = next;
    // The new config may name other certificate files: watch those from now on.
    this.fingerprint = this.computeFingerprint(next);
    this.logger.info({ file: this.file, tls: next.tls !== undefined, users: next.basicAuthUsers.size }, 'web config reloaded');
    for (const listener of this.listeners) listener(next);
    this.onReloadResult?.(true);
  }
}

/** Loads the web config and follows later changes of it; see ReloadingWebConfig. */
export function openWebConfig(file: string, options: OpenWebConfigOptions): ReloadingWebConfig {
  return new ReloadingWebConfig(file, options);
}

function secureContextOptions(t: WebTlsConfig): tls.SecureContextOptions {
  return {
    cert: t.cert,
    key: t.key,
    ca: t.ca,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ciphers: t.ciphers,
    ecdhCurve: t.ecdhCurve,
    honorCipherOrder: t.honorCipherOrder,
  };
}

/**
 * How each client_auth_type maps onto Node: OpenSSL asks for a certificate when `requestCert` is
 * set and fails the handshake on an unverified one when `rejectUnauthorized` is set. Go's two
 * "require, verify only if …" middle grounds have no OpenSSL switch: they are enforced right after
 * the handshake (`acceptClientCertificate`), before a single request byte is read.
 */
function clientAuthOptions(type: ClientAuthType): { requestCert: boolean; rejectUnauthorized: boolean } {
  switch (type) {
    case 'NoClientCert':
      return { requestCert: false, rejectUnauthorized: false };
    case 'RequestClientCert':
    case 'RequireAnyClientCert':
    case 'VerifyClientCertIfGiven':
      return { requestCert: true, rejectUnauthorized: false };
    case 'RequireAndVerifyClientCert':
      return { requestCert: true, rejectUnauthorized: true };
  }
}

function acceptClientCertificate(type: ClientAuthType, socket: tls.TLSSocket): boolean {
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && Object.keys(peer).length > 0;
  if (type === 'RequireAnyClientCert') return presented;
  if (type === 'VerifyClientCertIfGiven') return !presented || socket.authorized;
  return true;
}

export interface CreateHttpServerOptions {
  /** Receives TLS handshake failures at debug level (no certificate, wrong CA, plain HTTP). */
  logger?: Logger;
}

/**
 * Builds the server: plain HTTP without a web config or without tls_server_config, else HTTPS
 * with the mapped TLS options. Client-certificate auth applies to the whole listener, /healthz
 * included: TLS is negotiated before the path is known. With a reloading source, certificate and
 * TLS option changes apply to new connections, as exporter-toolkit does. The caller listens.
 */
export function createHttpServer(
  webConfig: WebConfig | WebConfigSource | undefined,
  handler: http.RequestListener,
  options: CreateHttpServerOptions = {},
): http.Server | https.Server {
  const source = webConfig === undefined ? undefined : asSource(webConfig);
  const initial = source?.current().tls;
  if (source === undefined || initial === undefined) return http.createServer(handler);

  let clientAuthType = initial.clientAuthType;
  const server = https.createServer({ ...secureContextOptions(initial), ...clientAuthOptions(initial.clientAuthType) }, handler);
  source.onReload?.((config) => {
    if (config.tls === undefined) return;
    server.setSecureContext(secureContextOptions(config.tls));
    // setSecureContext leaves these alone; tls.Server reads them for every new connection.
    Object.assign(server, clientAuthOptions(config.tls.clientAuthType));
    clientAuthType = config.tls.clientAuthType;
  });
  // Prepended: runs before tls.Server wraps the socket, so a changed certificate is in force for
  // this very connection, like exporter-toolkit's GetConfigForClient.
  server.prependListener('connection', () => source.current());
  // Prepended: runs before the HTTP parser is attached to the socket.
  server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
    if (!acceptClientCertificate(clientAuthType, socket)) {
      options.logger?.debug({ remoteAddress: socket.remoteAddress, clientAuthType }, 'TLS client certificate rejected');
      socket.destroy();
    }
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    options.logger?.debug({ remoteAddress: socket.remoteAddress, code: err.code }, 'TLS handshake failed');
  });
  return server;
}
