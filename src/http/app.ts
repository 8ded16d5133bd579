/**
 * The HTTP surface: `/metrics`, `/healthz`, `/readyz` (also as Prometheus' own `/-/healthy` and
 * `/-/ready`, where probes are pointed out of habit), the status page `/`, the JSON API
 * `/api/v1/accounts[/{name}]` and `POST /-/reload`.
 * Read endpoints answer GET and HEAD only (others 405); unknown paths get a plain 404 that never
 * echoes the path. Every response carries `X-Content-Type-Options: nosniff`.
 */
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { ReloadOutcome } from '../config/types.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { CONTENT_TYPES, negotiateFormat, OPENMETRICS_EOF, openMetricsFromText } from '../metrics/exposition.js';
import { fairQueue } from './fair-queue.js';
import { Router, type ErrorHandler, type Request, type RequestHandler, type Response } from '../lib/routing.js';
import { sharedBodyWriter, type SharedBodyWriter } from './shared-body.js';
import type { Rendered, StatusViews } from '../views/service.js';

export interface ServerDeps {
  metrics: ExporterMetrics;
  /** True once every account has finished its first poll. */
  isReady: () => boolean;
  /** The status page and the JSON API. */
  views: StatusViews;
  /** Re-reads the configuration file; undefined when there is nothing to reload. */
  reload?: () => Promise<ReloadOutcome>;
  /** Extra middleware that runs first (authentication, configured headers). */
  before?: readonly RequestHandler[];
  onError?: (error: unknown) => void;
  /** A request refused as the client's fault (4xx, e.g. a path that is not valid percent-encoding). */
  onClientError?: (status: number, error: unknown) => void;
  /** Writes `/metrics` bodies to clients that may not read them (default: shared-body.ts's defaults). */
  bodyWriter?: SharedBodyWriter;
}

const READ_METHODS = ['GET', 'HEAD'];

/** The liveness paths: served without credentials, so a probe needs none. */
const LIVENESS_PATHS = ['/healthz', '/-/healthy'] as const;
/** The readiness paths, under both spellings. */
const READINESS_PATHS = ['/readyz', '/-/ready'] as const;
/** What a probe or load balancer may ask without credentials when a web config sets them. */
export const PROBE_PATHS: readonly string[] = [...LIVENESS_PATHS, '/-/ready'];

function methods(allowed: readonly string[], handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (!allowed.includes(req.method ?? '')) {
      res.set('Allow', allowed.join(', ')).status(405).type('text/plain').send('Method Not Allowed\n');
      return;
    }
    return handler(req, res, next);
  };
}

function acceptsGzip(req: Request): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * `/metrics`: the cached `zexa_` text and the live process metrics, in OpenMetrics when `Accept`
 * prefers it, text 0.0.4 otherwise.
 */
function metricsHandler(deps: ServerDeps): RequestHandler {
  const writer = deps.bodyWriter ?? sharedBodyWriter();
  return async (req, res) => {
    const format = negotiateFormat(req.headers.accept);
    // Rendered a few blocks per turn of the event loop; scrapes during a render share it.
    const zexa = await deps.metrics.renderZexaSliced(format);
    const live = await deps.metrics.registry.metrics();
    const processText = format === 'openmetrics' ? openMetricsFromText(live) + OPENMETRICS_EOF : live;
    // A client that left while the render ran gets nothing: its close has been and gone.
    if (req.socket.destroyed) return;
    res
      .set('Content-Type', CONTENT_TYPES[format])
      .set('Cache-Control', 'no-store')
      .set('Vary', 'Accept, Accept-Encoding');
    res.status(200);
    // The zexa_ part is the render's cached block buffers as they are (and one gzip of them),
    // shared by every response until something changes; the small live part is the response's own
    // (a gzip member of its own: a concatenation of gzip members is a valid gzip stream).
    if (acceptsGzip(req)) {
      res.set('Content-Encoding', 'gzip');
      // Compressed on libuv's threadpool, not the main thread; the same Buffer while nothing changed.
      const gzipped = await zexa.gzipAsync();
      if (req.socket.destroyed) return;
      writer.send(res, [
        ...writer.shared(`${format} gzip`, zexa, () => [gzipped]),
        gzipSync(processText, { level: 6 }),
      ]);
      return;
    }
    writer.send(res, [...writer.shared(format, zexa, () => zexa.chunks), Buffer.from(processText)]);
  };
}

/** `/`: the status page. */
function statusPageHandler(deps: ServerDeps): RequestHandler {
  return (req, res) => {
    const page = deps.views.page(req.query);
    res
      .status(page.status)
      .set('Cache-Control', 'no-store')
      // form-action 'self': the search is a GET form back to this page.
      .set(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      )
      .set('Referrer-Policy', 'no-referrer')
      .type('html')
      .send(page.body);
  };
}

function sendJson(res: Response, rendered: Rendered): void {
  res.status(rendered.status).set('Cache-Control', 'no-store').type('application/json').send(rendered.body);
}

/** `POST /-/reload`: re-reads the configuration file and says what became of it. */
function reloadHandler(deps: ServerDeps): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store').type('text/plain');
    // The endpoint takes no body; a client that sends one is confused or hostile.
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > 0 || req.headers['transfer-encoding'] !== undefined) {
      res.status(413).send('POST /-/reload takes no body\n');
      req.socket.resume();
      return;
    }
    if (deps.reload === undefined) {
      res.status(400).send('no configuration file to reload (start with --config.file or ZEXA_EXPORTER_CONFIG)\n');
      return;
    }
    const outcome = await deps.reload();
    if (outcome.ok) res.send('configuration reloaded\n');
    else
      res
        .status(400)
        .send(
          `configuration not reloaded; the running configuration is kept:\n${outcome.problems.map((p) => `- ${p}\n`).join('')}`,
        );
  };
}

/** The last resort: a plain status line, never the error's own text. */
function errorHandler(deps: ServerDeps): ErrorHandler {
  return (error, _req, res) => {
    const status =
      typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    // A client's mistake is not the exporter's error: an unauthenticated client could otherwise
    // write error-level lines (quoting its own 15 KB path) as fast as it can send requests.
    if (status >= 400 && status < 500) deps.onClientError?.(status, error);
    else deps.onError?.(error);
    if (res.headersSent) return;
    res
      .status(status >= 400 && status < 600 ? status : 500)
      .type('text/plain')
      .send(status === 500 ? 'Internal Server Error\n' : 'Bad Request\n');
  };
}

/** The request listener of the exporter's server. */
export function createApp(deps: ServerDeps): http.RequestListener {
  const app = new Router((_req, res) => {
    res.status(404).type('text/plain').send('Not Found\n');
  }, errorHandler(deps));

  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(...(deps.before ?? []));

  // The two expensive read endpoints take turns with the poller (see fair-queue.ts).
  const turns = fairQueue();

  app.route('/metrics', methods(READ_METHODS, turns), methods(READ_METHODS, metricsHandler(deps)));
  app.route(
    LIVENESS_PATHS,
    methods(READ_METHODS, (_req, res) => {
      res.set('Cache-Control', 'no-store').type('text/plain').send('OK\n');
    }),
  );
  app.route(
    READINESS_PATHS,
    methods(READ_METHODS, (_req, res) => {
      res.set('Cache-Control', 'no-store').type('text/plain');
      if (deps.isReady()) res.send('ready\n');
      else res.status(503).send('not ready: waiting for the first poll of every account\n');
    }),
  );
  app.route('/', methods(READ_METHODS, turns), methods(READ_METHODS, statusPageHandler(deps)));
  app.route(
    '/api/v1/accounts',
    methods(READ_METHODS, turns),
    methods(READ_METHODS, (req, res) => sendJson(res, deps.views.accounts(req.query))),
  );
  app.route(
    '/api/v1/accounts/:name',
    methods(READ_METHODS, (req, res) => sendJson(res, deps.views.account(String(req.params.name)))),
  );
  app.route('/-/reload', methods(['POST'], reloadHandler(deps)));
  return app.listener();
}
