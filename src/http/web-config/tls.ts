/**
 * The `tls_server_config` section of the web config: exporter-toolkit's names mapped onto Node's
 * TLS options, the certificate, key and client CA read and checked, and the whole tried on
 * OpenSSL once so a bad key or option is refused at load rather than at the first handshake.
 * How each field maps is in docs/web-config.md.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import tls from 'node:tls';
import { fileReadDefect } from '../../lib/errno.js';
import { oneOf, optionalBoolean, optionalString, optionalStringList, rejectUnknown, type Problems } from './fields.js';

const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;

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

/** Every problem of this section starts with this. */
const P = 'tls_server_config.';

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

export type ReadFile = (p: string) => string | Buffer;

/** The file fields, resolved to absolute paths; undefined where absent or empty. */
interface TlsFiles {
  certFile: string | undefined;
  keyFile: string | undefined;
  clientCaFile: string | undefined;
  /** client_auth_type as written, which also switches TLS on. */
  clientAuthRaw: string | undefined;
}

/** The protocol options, mapped; undefined where the value was refused. */
interface TlsOptions {
  clientAuthType: ClientAuthType | undefined;
  minName: TlsVersionName | undefined;
  maxName: TlsVersionName | undefined;
  ciphers: string[];
  curves: string[];
  honorCipherOrder: boolean;
}

interface TlsPem {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

/**
 * Parses `tls_server_config`: undefined when the section switches TLS off (none of the files and
 * no client_auth_type, as in exporter-toolkit) or when it has problems, which are added to
 * `problems`. Relative paths resolve against `baseDir`; the files are read with `readFile`.
 */
export function parseTls(
  obj: Record<string, unknown>,
  baseDir: string,
  readFile: ReadFile,
  problems: Problems,
): WebTlsConfig | undefined {
  rejectUnknown(obj, TLS_FIELDS, P, problems);
  const files = tlsFiles(obj, baseDir, problems);
  const before = problems.length;
  const options = tlsOptions(obj, files.clientAuthRaw, problems);

  // As in exporter-toolkit: a section with none of these set means plain HTTP.
  const enabled =
    files.certFile !== undefined ||
    files.keyFile !== undefined ||
    files.clientCaFile !== undefined ||
    (files.clientAuthRaw ?? '') !== '';
  if (!enabled) return undefined;
  checkRequiredFiles(obj, files.clientCaFile, options.clientAuthType, problems);
  const { certFile, keyFile, clientCaFile } = files;
  if (problems.length > before || certFile === undefined || keyFile === undefined) return undefined;

  const pem = readPem(certFile, keyFile, clientCaFile, readFile, problems);
  if (pem === undefined || problems.length > before) return undefined;

  const config = {
    certFile,
    keyFile,
    clientCaFile,
    cert: pem.cert,
    ca: pem.ca,
    clientAuthType: options.clientAuthType ?? 'NoClientCert',
    minVersion: TLS_VERSIONS[options.minName ?? 'TLS12'],
    maxVersion: TLS_VERSIONS[options.maxName ?? 'TLS13'],
    ciphers: options.ciphers.length > 0 ? options.ciphers.join(':') : undefined,
    ecdhCurve: options.curves.length > 0 ? options.curves.join(':') : undefined,
    honorCipherOrder: options.honorCipherOrder,
  } as WebTlsConfig;
  Object.defineProperty(config, 'key', { value: pem.key, enumerable: false });
  return acceptedByOpenSsl(config, problems) ? config : undefined;
}

function tlsFiles(obj: Record<string, unknown>, baseDir: string, problems: Problems): TlsFiles {
  const resolve = (p: string | undefined): string | undefined =>
    p === undefined || p === '' ? undefined : path.resolve(baseDir, p);
  return {
    certFile: resolve(optionalString(obj, 'cert_file', `${P}cert_file`, problems)),
    keyFile: resolve(optionalString(obj, 'key_file', `${P}key_file`, problems)),
    clientCaFile: resolve(optionalString(obj, 'client_ca_file', `${P}client_ca_file`, problems)),
    clientAuthRaw: optionalString(obj, 'client_auth_type', `${P}client_auth_type`, problems),
  };
}

function tlsOptions(obj: Record<string, unknown>, clientAuthRaw: string | undefined, problems: Problems): TlsOptions {
  let clientAuthType: ClientAuthType | undefined = 'NoClientCert';
  if (clientAuthRaw !== undefined && clientAuthRaw !== '') {
    // exporter-toolkit still accepts the pre-0.5 spelling.
    const name = clientAuthRaw === 'RequireClientCert' ? 'RequireAnyClientCert' : clientAuthRaw;
    clientAuthType = oneOf(name, CLIENT_AUTH_TYPES, `${P}client_auth_type`, problems);
  }
  const minName = tlsVersion(obj, 'min_version', 'TLS12', problems);
  const maxName = tlsVersion(obj, 'max_version', 'TLS13', problems);
  if (minName !== undefined && maxName !== undefined && minName > maxName) {
    // Go accepts this and then fails every handshake; say so up front instead.
    problems.push(`${P}min_version: ${minName} is higher than max_version ${maxName}`);
  }
  const ciphers = cipherSuites(obj, problems);
  const curves = curvePreferences(obj, problems);
  const honorCipherOrder =
    optionalBoolean(obj, 'prefer_server_cipher_suites', `${P}prefer_server_cipher_suites`, problems) ?? true;
  return { clientAuthType, minName, maxName, ciphers, curves, honorCipherOrder };
}

function tlsVersion(
  obj: Record<string, unknown>,
  key: 'min_version' | 'max_version',
  fallback: TlsVersionName,
  problems: Problems,
): TlsVersionName | undefined {
  const raw = optionalString(obj, key, `${P}${key}`, problems);
  if (raw === undefined) return fallback;
  return oneOf(raw, Object.keys(TLS_VERSIONS) as TlsVersionName[], `${P}${key}`, problems);
}

/** The OpenSSL names of the TLS ≤ 1.2 suites listed. */
function cipherSuites(obj: Record<string, unknown>, problems: Problems): string[] {
  const ciphers: string[] = [];
  optionalStringList(obj, 'cipher_suites', `${P}cipher_suites`, problems).forEach((name, i) => {
    const openssl = Object.hasOwn(CIPHER_SUITES, name) ? CIPHER_SUITES[name] : undefined;
    if (openssl === undefined) {
      problems.push(
        `${P}cipher_suites[${i}]: unknown cipher suite ${JSON.stringify(name)} (Go's tls.CipherSuites() names, listed in docs/web-config.md)`,
      );
    } else if (openssl !== null) {
      ciphers.push(openssl);
    }
  });
  return ciphers;
}

/** The OpenSSL group names of the curves listed. */
function curvePreferences(obj: Record<string, unknown>, problems: Problems): string[] {
  const curves: string[] = [];
  optionalStringList(obj, 'curve_preferences', `${P}curve_preferences`, problems).forEach((name, i) => {
    const group = Object.hasOwn(CURVES, name) ? CURVES[name] : undefined;
    if (group === undefined) {
      problems.push(
        `${P}curve_preferences[${i}]: ${JSON.stringify(name)} is not one of ${Object.keys(CURVES).join(', ')}`,
      );
    } else {
      curves.push(group);
    }
  });
  return curves;
}

/** The files an enabled section needs, given its client_auth_type. */
function checkRequiredFiles(
  obj: Record<string, unknown>,
  clientCaFile: string | undefined,
  clientAuthType: ClientAuthType | undefined,
  problems: Problems,
): void {
  const absent = (key: string): boolean => obj[key] === undefined || obj[key] === null || obj[key] === '';
  if (absent('cert_file')) problems.push(`${P}cert_file: required when tls_server_config is used`);
  if (absent('key_file')) problems.push(`${P}key_file: required when tls_server_config is used`);
  if (clientAuthType === 'NoClientCert' && clientCaFile !== undefined) {
    problems.push(
      `${P}client_ca_file: set, but client_auth_type is NoClientCert, so no client certificate is asked for`,
    );
  }
  if (
    (clientAuthType === 'RequireAndVerifyClientCert' || clientAuthType === 'VerifyClientCertIfGiven') &&
    clientCaFile === undefined
  ) {
    // Go would fall back to the system roots; Node to its bundled public CAs. Either way any
    // publicly issued certificate would pass, which is never what client auth is for.
    problems.push(
      `${P}client_ca_file: required when client_auth_type is ${clientAuthType} (the CA that signs the client certificates)`,
    );
  }
}

/** Reads the certificate, key and CA; undefined (with problems) when one is unreadable or not a certificate. */
function readPem(
  certFile: string,
  keyFile: string,
  clientCaFile: string | undefined,
  readFile: ReadFile,
  problems: Problems,
): TlsPem | undefined {
  const cert = readFileNamed(certFile, `${P}cert_file`, readFile, problems);
  const key = readFileNamed(keyFile, `${P}key_file`, readFile, problems);
  const ca =
    clientCaFile === undefined ? undefined : readFileNamed(clientCaFile, `${P}client_ca_file`, readFile, problems);
  if (cert === undefined || key === undefined || (clientCaFile !== undefined && ca === undefined)) return undefined;
  const certOk = holdsCertificates(cert, certFile, `${P}cert_file`, problems);
  const caOk = ca === undefined || holdsCertificates(ca, clientCaFile, `${P}client_ca_file`, problems);
  return certOk && caOk ? { cert, key, ca } : undefined;
}

function readFileNamed(file: string, field: string, readFile: ReadFile, problems: Problems): Buffer | undefined {
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

function holdsCertificates(pem: Buffer, file: string | undefined, field: string, problems: Problems): boolean {
  try {
    if (pemCertificates(pem).length > 0) return true;
    problems.push(`${field}: ${JSON.stringify(file)} holds no PEM certificate`);
  } catch {
    problems.push(`${field}: ${JSON.stringify(file)} holds a certificate that does not parse`);
  }
  return false;
}

/**
 * What the server will do at start: this catches a key that is not a key or belongs to another
 * certificate, and options OpenSSL refuses, while the operator is still reading the output.
 */
function acceptedByOpenSsl(config: WebTlsConfig, problems: Problems): boolean {
  try {
    tls.createSecureContext(secureContextOptions(config));
    return true;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const { certFile, keyFile } = config;
    if (/key values mismatch/i.test(message)) {
      problems.push(
        `${P}key_file: ${JSON.stringify(keyFile)} is not the private key of cert_file ${JSON.stringify(certFile)}`,
      );
    } else if (/no start line|unsupported|bad decrypt|decoder/i.test(message)) {
      problems.push(`${P}key_file: ${JSON.stringify(keyFile)} holds no usable unencrypted PEM private key`);
    } else {
      problems.push(
        `tls_server_config: OpenSSL refused the certificate, key or options: ${message.split('\n')[0] ?? message}`,
      );
    }
    return false;
  }
}

/** The options of Node's `tls.createSecureContext` (and of an https server) for a TLS config. */
export function secureContextOptions(t: WebTlsConfig): tls.SecureContextOptions {
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
