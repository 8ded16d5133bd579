/**
 * A loopback stand-in for zexa-exporter that serves the metric contract of issue 2 §6 from
 * values the test controls, so the rules → Prometheus → Alertmanager → webhook path can be
 * proven without the real exporter. `poll()` plays one poll of every account, the way the
 * exporter's poller updates its metrics; the stand-in calls it on its own timer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInAccount {
  credits: number;
  currency: string;
  warning: number;
  critical: number;
  /** Credits consumed at each poll (balance drains, `zexa_credits_consumed_total` grows). */
  drainPerPoll: number;
  /** 401 at every poll from now on. */
  revoked: boolean;
  /** Every poll times out (no success, nothing else counted). */
  failing: boolean;
  up: number;
  /** Seconds; undefined before the first success, as the exporter does. */
  lastSuccess: number | undefined;
  auth401: number;
  auth403: number;
  consumed: number;
  added: number;
  pollErrors: Map<string, number>;
}

export interface StandInExporter {
  url: string;
  /** `host:port`, for a Prometheus target. */
  target: string;
  accounts: Map<string, StandInAccount>;
  setCredits(name: string, credits: number): void;
  topUp(name: string, credits: number): void;
  revoke(name: string): void;
  poll(): void;
  close(): Promise<void>;
}

export type StandInAccountSpec = Partial<Pick<StandInAccount, 'credits' | 'currency' | 'warning' | 'critical' | 'drainPerPoll' | 'failing' | 'lastSuccess'>>;

function account(name: string, spec: StandInAccountSpec): StandInAccount {
  if (!/^[a-z0-9_]{1,64}$/.test(name)) throw new Error(`invalid account name: ${name}`);
  return {
    credits: spec.credits ?? 5000,
    currency: spec.currency ?? 'USD',
    warning: spec.warning ?? 1000,
    critical: spec.critical ?? 100,
    drainPerPoll: spec.drainPerPoll ?? 0,
    revoked: false,
    failing: spec.failing ?? false,
    up: 0,
    lastSuccess: spec.lastSuccess,
    auth401: 0,
    auth403: 0,
    consumed: 0,
    added: 0,
    pollErrors: new Map(),
  };
}

function render(accounts: Map<string, StandInAccount>, requests: Map<string, number>): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const each = (f: (name: string, a: StandInAccount) => string | string[] | undefined) =>
    [...accounts].flatMap(([name, a]) => f(name, a) ?? []);
  family('zexa_credits_remaining', 'gauge', 'Credits left, from the latest successful poll.', each((n, a) =>
    a.lastSuccess === undefined ? undefined : `zexa_credits_remaining{account="${n}",currency="${a.currency}"} ${a.credits}`));
  family('zexa_credits_threshold', 'gauge', 'Configured thresholds.', each((n, a) => [
    `zexa_credits_threshold{account="${n}",severity="warning"} ${a.warning}`,
    `zexa_credits_threshold{account="${n}",severity="critical"} ${a.critical}`,
  ]));
  family('zexa_up', 'gauge', 'Whether the latest poll succeeded.', each((n, a) => `zexa_up{account="${n}"} ${a.up}`));
  family('zexa_last_success_timestamp_seconds', 'gauge', 'Time of the latest successful poll.', each((n, a) =>
    a.lastSuccess === undefined ? undefined : `zexa_last_success_timestamp_seconds{account="${n}"} ${a.lastSuccess}`));
  family('zexa_auth_errors_total', 'counter', 'Polls rejected with 401 or 403.', each((n, a) => [
    `zexa_auth_errors_total{account="${n}",code="401"} ${a.auth401}`,
    `zexa_auth_errors_total{account="${n}",code="403"} ${a.auth403}`,
  ]));
  family('zexa_poll_errors_total', 'counter', 'Failed polls.', each((n, a) =>
    [...a.pollErrors].map(([reason, v]) => `zexa_poll_errors_total{account="${n}",reason="${reason}"} ${v}`)));
  family('zexa_credits_consumed_total', 'counter', 'Balance decreases.', each((n, a) => `zexa_credits_consumed_total{account="${n}"} ${a.consumed}`));
  family('zexa_credits_added_total', 'counter', 'Balance increases.', each((n, a) => `zexa_credits_added_total{account="${n}"} ${a.added}`));
  family('zexa_api_requests_total', 'counter', 'HTTP attempts.', [...requests].map(([code, v]) => `zexa_api_requests_total{code="${code}"} ${v}`));
  const total = [...requests.values()].reduce((x, y) => x + y, 0);
  family('zexa_api_request_duration_seconds', 'histogram', 'Attempt duration.', [
    `zexa_api_request_duration_seconds_bucket{le="0.1"} ${total}`,
    `zexa_api_request_duration_seconds_bucket{le="+Inf"} ${total}`,
    `zexa_api_request_duration_seconds_sum ${total * 0.05}`,
    `zexa_api_request_duration_seconds_count ${total}`,
  ]);
  family('zexa_exporter_build_info', 'gauge', 'Build information.', ['zexa_exporter_build_info{version="0.0.0-stand-in",nodejs_version="v20.0.0"} 1']);
  family('zexa_exporter_config_last_reload_successful', 'gauge', 'Whether the last reload worked.', ['zexa_exporter_config_last_reload_successful 1']);
  family('zexa_exporter_config_last_reload_success_timestamp_seconds', 'gauge', 'Time of the last good reload.', [`zexa_exporter_config_last_reload_success_timestamp_seconds ${Math.floor(Date.now() / 1000)}`]);
  return `${out.join('\n')}\n`;
}

export async function startStandInExporter(specs: Record<string, StandInAccountSpec>, pollEveryMs = 500): Promise<StandInExporter> {
  const accounts = new Map(Object.entries(specs).map(([name, spec]) => [name, account(name, spec)]));
  const requests = new Map<string, number>();
  const get = (name: string): StandInAccount => {
    const a = accounts.get(name);
    if (a === undefined) throw new Error(`no stand-in account ${name}`);
    return a;
  };
  const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  const setCredits = (name: string, credits: number) => {
    const a = get(name);
    if (credits < a.credits) a.consumed += a.credits - credits;
    else a.added += credits - a.credits;
    a.credits = credits;
  };
  const poll = () => {
    for (const [name, a] of accounts) {
      if (a.revoked) {
        a.up = 0;
        a.auth401 += 1;
        count(a.pollErrors, 'unauthorized');
        count(requests, '401');
      } else if (a.failing) {
        a.up = 0;
        count(a.pollErrors, 'timeout');
        count(requests, 'error');
      } else {
        setCredits(name, Math.max(0, a.credits - a.drainPerPoll));
        a.up = 1;
        a.lastSuccess = Date.now() / 1000;
        count(requests, '200');
      }
    }
  };
  poll();
  const timer = setInterval(poll, pollEveryMs);
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render(accounts, requests));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    accounts,
    setCredits,
    topUp: (name, credits) => setCredits(name, get(name).credits + credits),
    revoke: (name) => {
      get(name).revoked = true;
    },
    poll,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
