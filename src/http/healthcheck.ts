/**
 * `zexa-exporter healthcheck`: the container's health probe. It reads the exporter's web settings
 * from the same flags, environment and config file (not the keys: the demo image has none) and
 * asks `/healthz` on the configured listen address, over HTTPS when the web config has a `tls_server_config`. Exit 0 when it answers 200,
 * 1 otherwise (Docker reads 1 as unhealthy and reserves 2), with the reason on stderr.
 *
 * Over TLS the probe trusts exactly the certificate the web config serves (its `cert_file`):
 * it compares the certificate it is shown with that file's first certificate. That holds for a
 * certificate from any CA, a self-signed one, and one issued for a name other than the loopback
 * address the probe dials, which CA validation with host-name checks would each refuse. Where the
 * web config requires a client certificate, the probe presents the server's own certificate and
 * key; under `RequireAndVerifyClientCert` that passes only when `client_ca_file` signed it.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { loadWebSettings, nodeConfigSources } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../config/errors.js';
import { loadWebConfig } from './web-config/parse.js';
import type { WebTlsConfig } from './web-config/tls.js';

export const HEALTHY = 0;
export const UNHEALTHY = 1;

/** Docker's default HEALTHCHECK timeout is 30 s and ours is 5 s: give up before either. */
const PROBE_TIMEOUT_MS = 4_000;

/** The address to dial: the configured host, or loopback where the exporter listens on every interface. */
export function probeHost(host: string | undefined): string {
  if (host === undefined || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export interface ProbeTarget {
  url: URL;
  tls: WebTlsConfig | undefined;
}

export function probeTarget(web: Config['web']): ProbeTarget {
  const tlsConfig = web.configFile === undefined ? undefined : loadWebConfig(web.configFile).tls;
  const host = probeHost(web.host);
  const url = new URL(`${tlsConfig === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${web.port}/healthz`);
  return { url, tls: tlsConfig };
}

function tlsOptions(served: WebTlsConfig): https.RequestOptions {
  const needsClientCert = served.clientAuthType === 'RequireAnyClientCert' || served.clientAuthType === 'RequireAndVerifyClientCert';
  return {
    // Checked below against the served certificate itself, which is stricter for this purpose.
    rejectUnauthorized: false,
    minVersion: served.minVersion,
    maxVersion: served.maxVersion,
    ...(needsClientCert ? { cert: served.cert, key: served.key } : {}),
  };
}

/** Resolves with the status of GET /healthz, or rejects with what went wrong. */
export function probe(target: ProbeTarget, timeoutMs = PROBE_TIMEOUT_MS): Promise<number> {
  const pinned = target.tls === undefined ? undefined : new X509Certificate(target.tls.cert).fingerprint256;
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = { agent: false, timeout: timeoutMs, ...(target.tls === undefined ? {} : tlsOptions(target.tls)) };
    const req = (target.tls === undefined ? http : https).get(target.url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('socket', (socket) => {
      if (pinned === undefined) return;
      socket.once('secureConnect', () => {
        const shown = (socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
        if (shown !== pinned) req.destroy(new Error('the server shows a certificate other than the web config\'s cert_file'));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The `healthcheck` subcommand; `argv` are the exporter's own flags. Returns the exit code. */
export async function runHealthcheck(argv: readonly string[], env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  let target: ProbeTarget;
  try {
    target = probeTarget(loadWebSettings(nodeConfigSources(argv, env)));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr.write(`zexa-exporter healthcheck: ${error.message}\n`);
    return UNHEALTHY;
  }
  try {
    const status = await probe(target);
    if (status === 200) return HEALTHY;
    stderr.write(`zexa-exporter healthcheck: ${target.url.href} answered ${status}\n`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    stderr.write(`zexa-exporter healthcheck: ${target.url.href}: ${typeof code === 'string' ? `${code} ` : ''}${(error as Error).message}\n`);
  }
  return UNHEALTHY;
}
