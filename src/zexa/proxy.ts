/**
 * Which proxy a request to the Zexa API goes through, by curl's and Go's rules, which users' other tools follow:
 * - an `https://` URL through HTTPS_PROXY only; with HTTP_PROXY alone it goes direct. (undici's
 *   EnvHttpProxyAgent falls back to HTTP_PROXY for https, unlike curl, Go and the users' tools.)
 * - an `http://` URL through HTTP_PROXY, forwarded as an absolute-URI request the way curl and Go
 *   send it, not tunnelled with CONNECT (proxies often allow CONNECT to port 443 only);
 * - NO_PROXY exempts hosts for both.
 * The variables are read by the caller (lower case over upper case); '' means none.
 */
import type { Agent as AgentType, Dispatcher } from 'undici';
import { Agent, EnvHttpProxyAgent } from './undici.js';

export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

/** What EnvHttpProxyAgent passes on to its Agent and ProxyAgents; `proxyTunnel` is ProxyAgent's. */
type AgentOptions = AgentType.Options & { proxyTunnel?: boolean };

/**
 * One agent for every origin: `https:` origins get an EnvHttpProxyAgent that knows only
 * HTTPS_PROXY, `http:` origins one that knows only HTTP_PROXY and forwards instead of tunnelling.
 * ('' rather than undefined, so that undici never reads process.env behind the caller's back.)
 */
export function createProxyAgent(proxies: ProxySettings, options: AgentType.Options): Dispatcher {
  const forScheme = (origin: string | URL): Dispatcher => {
    const https = new URL(String(origin)).protocol === 'https:';
    const agentOptions: AgentOptions = { ...options, proxyTunnel: false };
    return new EnvHttpProxyAgent({
      ...agentOptions,
      httpProxy: https ? '' : proxies.httpProxy,
      httpsProxy: https ? proxies.httpsProxy : '',
      noProxy: proxies.noProxy,
    });
  };
  return new Agent({ ...options, factory: forScheme });
}
