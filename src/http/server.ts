/**
 * The listener's server: plain HTTP, or HTTPS with the web config's TLS options, following a
 * reloading web config for new connections. Basic auth and headers are in web-config/auth.ts.
 */
import type http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { Logger } from '../lib/logger.js';
import { http as nodeHttp } from '../lib/node-http.js';
import type { WebConfig } from './web-config/parse.js';
import { asSource, type WebConfigSource } from './web-config/source.js';
import { secureContextOptions, type ClientAuthType } from './web-config/tls.js';

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
  if (source === undefined || initial === undefined) return nodeHttp.createServer(handler);

  let clientAuthType = initial.clientAuthType;
  const server = https.createServer(
    { ...secureContextOptions(initial), ...clientAuthOptions(initial.clientAuthType) },
    handler,
  );
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
