/**
 * The web config file of Prometheus' exporter-toolkit (`--web.config.file`), so one file serves
 * this exporter and the team's Go exporters alike. Only the fields exporter-toolkit v0.8 knows
 * (the version inside Prometheus 2.42 and its `promtool check web-config`) are accepted; unknown
 * fields are errors, as they are for `yaml.UnmarshalStrict` there. How each field maps onto
 * Node's TLS stack is in docs/web-config.md.
 *
 * Parsing is pure (`parseWebConfig`, file reads injected); `loadWebConfig` reads the file. The
 * TLS section is in tls.ts, re-reading on change in source.ts, the http or https
 * server in http/server.ts, basic auth and headers in auth.ts.
 */
import path from 'node:path';
import { ConfigError } from '../../config/errors.js';
import { FILE_CAP_BYTES, readBytesBounded } from '../../lib/bounded-read.js';
import { fileReadDefect } from '../../lib/errno.js';
import { loadYaml } from '../../lib/yaml.js';
import { describe, isMapping, optionalBoolean, rejectUnknown, section, type Problems } from './fields.js';
import { headerNameProblem, headerValueProblem } from './headers.js';
import { parseTls, type WebTlsConfig } from './tls.js';

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
const HTTP_FIELDS = ['http2', 'headers'];

/** `$2$`, `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

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

function parseHttp(
  obj: Record<string, unknown>,
  problems: Problems,
): { headers: Record<string, string>; http2: boolean } {
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
      problems.push(
        `${field}: this header cannot be configured (exporter-toolkit allows ${Object.keys(CONFIGURABLE_HEADERS).join(', ')})`,
      );
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
      problems.push(
        `${field === 'basic_auth_users.' ? 'basic_auth_users' : field}: a user name must be non-empty and contain no colon`,
      );
      continue;
    }
    // Never echo the value: if it is not a hash, it may well be a plain-text password.
    const match = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
    const cost = match?.[1] === undefined ? NaN : Number(match[1]);
    if (typeof hash !== 'string' || match === null) {
      problems.push(
        `${field}: not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters); make one with htpasswd -nBC 10 "" | tr -d ':\\n'`,
      );
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
