/**
 * The parts of undici the client uses, loaded from their own files instead of the package's index.
 * The index also loads undici's fetch, WebSocket, cache and cookie modules, and the cookie module
 * reads `globalThis.Headers` at load, which makes Node.js load its own bundled copy of undici as
 * well: 13 MB of RSS on Node.js 24 for code the exporter never runs (BENCHMARKS.md, "Where the
 * memory goes"). Types come from the package as usual.
 *
 * The files are undici's internal layout, not its API: the client tests fail at once if an undici
 * upgrade moves them. The index's one side effect the dispatchers need is done here too: it adds
 * request/connect/... to Dispatcher.prototype, and ProxyAgent tunnels HTTPS with `connect`.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const load = createRequire(import.meta.url);

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'>;

const dispatcherClass = load('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
const api = load('undici/lib/api/index.js') as {
  request(this: Undici.Dispatcher, options: Undici.Dispatcher.RequestOptions): Promise<Undici.Dispatcher.ResponseData>;
};
Object.assign(dispatcherClass.prototype, api);

export const Agent = load('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const EnvHttpProxyAgent = load(
  'undici/lib/dispatcher/env-http-proxy-agent.js',
) as typeof Undici.EnvHttpProxyAgent;

/** undici's `request(url, options)`: GET `url` through `options.dispatcher`. */
export function request(
  url: URL,
  options: RequestOptions & { dispatcher: Undici.Dispatcher },
): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  return api.request.call(dispatcher, {
    ...rest,
    origin: url.origin,
    path: url.search ? `${url.pathname}${url.search}` : url.pathname,
  });
}
