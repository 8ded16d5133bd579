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
import { readFileSync, realpathSync } from 'node:fs';
import type http from 'node:http';
import type https from 'node:https';
import path from 'node:path';
import type tls from 'node:tls';
import { loadWebSettings, nodeConfigSources } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../config/errors.js';
import { http as nodeHttp } from '../lib/node-http.js';
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

/**
 * Where to probe. The web config's parser (with node:tls and node:crypto) is loaded only when there
 * is a web config, and node:https only to probe over TLS: the plain probe's peak RSS stays near
 * Node.js's own floor (each of them added about 8 MB on Node.js 24).
 */
export async function probeTarget(web: Config['web']): Promise<ProbeTarget> {
  const tlsConfig =
    web.configFile === undefined
      ? undefined
      : (await import('./web-config/parse.js')).loadWebConfig(web.configFile).tls;
  const host = probeHost(web.host);
  const url = new URL(
    `${tlsConfig === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${web.port}/healthz`,
  );
  return { url, tls: tlsConfig };
}

function tlsOptions(served: WebTlsConfig): https.RequestOptions {
  const needsClientCert =
    served.clientAuthType === 'RequireAnyClientCert' || served.clientAuthType === 'RequireAndVerifyClientCert';
  return {
    // Checked below against the served certificate itself, which is stricter for this purpose.
    rejectUnauthorized: false,
    minVersion: served.minVersion,
    maxVersion: served.maxVersion,
    ...(needsClientCert ? { cert: served.cert, key: served.key } : {}),
  };
}

/** The request to send, and the fingerprint to pin: node:https and node:crypto are loaded for TLS only. */
async function transport(served: WebTlsConfig | undefined): Promise<{ get: typeof http.get; pinned?: string }> {
  if (served === undefined) return { get: nodeHttp.get };
  const [{ X509Certificate }, { default: https }] = await Promise.all([import('node:crypto'), import('node:https')]);
  return { get: https.get, pinned: new X509Certificate(served.cert).fingerprint256 };
}

/** Resolves with the status of GET /healthz, or rejects with what went wrong. */
export async function probe(target: ProbeTarget, timeoutMs = PROBE_TIMEOUT_MS): Promise<number> {
  const { get, pinned } = await transport(target.tls);
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      agent: false,
      timeout: timeoutMs,
      ...(target.tls === undefined ? {} : tlsOptions(target.tls)),
    };
    const req = get(target.url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('socket', (socket) => {
      if (pinned === undefined) return;
      socket.once('secureConnect', () => {
        const shown = (socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
        if (shown !== pinned)
          req.destroy(new Error("the server shows a certificate other than the web config's cert_file"));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Subcommands: a process running one of these is not the exporter. */
const SUBCOMMANDS = new Set(['healthcheck', 'check']);

/**
 * The exporter's own flags, read from the command line of the process that runs it: `cmdline` is
 * that process's /proc/<pid>/cmdline (arguments each ended by NUL). They count only when that
 * process runs the same entry point as this one (`sameEntry` compares the script paths) and is
 * the exporter, not a subcommand; otherwise undefined.
 */
export function exporterArgs(cmdline: string, sameEntry: (script: string) => boolean): string[] | undefined {
  const args = cmdline.split('\0');
  if (args.at(-1) === '') args.pop();
  const script = args[1];
  if (script === undefined || !sameEntry(script)) return undefined;
  const rest = args.slice(2);
  if (rest[0] !== undefined && SUBCOMMANDS.has(rest[0])) return undefined;
  return rest;
}

/**
 * In a container the exporter is PID 1, and the engine runs the image's HEALTHCHECK as a separate
 * process that gets the container's environment but not the arguments given to `docker run IMAGE
 * --web.listen-address=…`. So a probe started without flags takes PID 1's, when PID 1 is this
 * same program. Keys never have a flag, so nothing secret is read.
 */
function containerExporterArgs(): string[] | undefined {
  if (process.pid === 1 || process.argv[1] === undefined) return undefined;
  try {
    const own = realpathSync(process.argv[1]);
    const cmdline = readFileSync('/proc/1/cmdline', 'utf8');
    return exporterArgs(cmdline, (script) => {
      try {
        // A relative script path is relative to PID 1's working directory, not ours.
        return realpathSync(path.resolve('/proc/1/cwd', script)) === own;
      } catch {
        return false;
      }
    });
  } catch {
    // Not Linux, or PID 1 is not ours to read: the flags given are all there is.
    return undefined;
  }
}

/**
 * The `healthcheck` subcommand; `argv` are the exporter's own flags. Without any, it takes those of
 * the exporter running as PID 1 (`pid1Args`, see containerExporterArgs). Returns the exit code.
 */
export async function runHealthcheck(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  stderr: NodeJS.WritableStream = process.stderr,
  pid1Args: () => string[] | undefined = containerExporterArgs,
): Promise<number> {
  let target: ProbeTarget;
  try {
    const flags = argv.length > 0 ? argv : (pid1Args() ?? []);
    target = await probeTarget(loadWebSettings(nodeConfigSources(flags, env)));
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
    stderr.write(
      `zexa-exporter healthcheck: ${target.url.href}: ${typeof code === 'string' ? `${code} ` : ''}${(error as Error).message}\n`,
    );
  }
  return UNHEALTHY;
}
