/**
 * Whether an API URL would send the Bearer key in plain text where it can be read on the way: an
 * `http://` URL to anything but this machine. Loopback (`localhost`, 127.0.0.0/8, `::1`) is
 * exempt: the simulator, a local stub or a sidecar proxy that adds TLS never leave the host.
 */
import { isIP } from 'node:net';

function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(host);
  return false;
}

/** The warning to log for `apiUrl` (at start-up, and when a reload changes the URL), or undefined when the key travels safely. */
export function plainTextKeyWarning(apiUrl: string): string | undefined {
  const url = new URL(apiUrl);
  if (url.protocol !== 'http:' || isLoopback(url.hostname)) return undefined;
  return `the API URL is http://, so every poll sends its key unencrypted to ${url.host}; use https:// (plain http is meant for loopback only)`;
}
