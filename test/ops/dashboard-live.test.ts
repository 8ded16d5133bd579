/**
 * Every query of the Grafana dashboard and of the Grafana-managed alert rules, run live (issue
 * 15): a real Prometheus (the shipped prometheus.yml, scraping every second) scrapes the real
 * exporter polling the built-in simulator's demo accounts, one in each state. The dashboard JSON
 * and the alert file are read when the test runs, so a new panel is covered without a change here.
 *
 * Queries go out the way Grafana sends them: panel targets as range queries (step $__interval) or
 * instant queries as the target says, `$account` both as the "All" value and as the regex of every
 * account, and `$__rate_interval`, `$__interval`, `$__range` worked out from the time range and the
 * scrape interval. Each must succeed and return series, and the accounts in them must be the
 * simulator's: all of them for a panel, unless it is listed below as showing some accounts only,
 * and some of them for an alert query.
 *
 * A second exporter whose clock runs 20 minutes behind holds one account whose only success is
 * therefore 20 minutes old, so the staleness query has a series without waiting 15 minutes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { demoAccounts } from '../../src/simulator/index.js';
import { startHarness, until, type Harness } from '../support/exporter-harness.js';
import { requireProgram } from '../support/external.js';
import { startPrometheusStack, type PrometheusStack } from '../support/prometheus-stack.js';
import { intervalSeconds, labelValuesQuery, regexValue, substitute, type GrafanaTime } from './grafana-variables.js';
import { allPanels, loadDashboard, loadGrafanaAlerts } from './ops-files.js';

const prometheus = requireProgram(['prometheus'], 'prometheus');
const alertmanager = requireProgram(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');

/**
 * The demo's accounts, plus one that drains fast: a 6 h rate over a few seconds of history is
 * tiny, so only a drain this steep forecasts exhaustion within 72 h in a short run.
 */
const SIM_ACCOUNTS = [...demoAccounts(), { name: 'draining', key: 'zx_live_dash_draining_0001', credits: 200_000, drainPerRequest: 2000 }];
const STALE = 'stuck';
const EVERY_ACCOUNT = [...SIM_ACCOUNTS.map((a) => a.name), STALE].sort();
/** Accounts whose key never worked (401, 403) have no balance and no last success. */
const NEVER_SUCCEEDED = ['legacy', 'analytics'];
const HAVE_BALANCE = EVERY_ACCOUNT.filter((a) => !NEVER_SUCCEEDED.includes(a));
const FAILING = [...NEVER_SUCCEEDED, 'flaky', STALE];

/**
 * Queries that show only some accounts, by design, with the accounts the demo states give them.
 * Keyed by `<panel title> <refId>` or `Grafana alert <title>`.
 */
const SOME_ACCOUNTS: Record<string, { accounts: string[]; why: string; orMore?: true }> = {
  'Balance per account A': { accounts: HAVE_BALANCE, why: 'a key that never worked has no balance' },
  'Balance over time A': { accounts: HAVE_BALANCE, why: 'a key that never worked has no balance' },
  'Age of the last successful poll A': { accounts: HAVE_BALANCE, why: 'a key that never worked has no last success' },
  // orMore: on a busy machine any poll can time out (900 ms here), so others may show up too.
  'Failed polls by reason A': { accounts: FAILING, why: 'only failing accounts have failed polls', orMore: true },
};

/**
 * Queries expected to return nothing in a short run, with the reason. A listed query must still
 * run without error (test/ops/alerting-e2e.test.ts waits long enough to see the forecast fire).
 */
const FIVE_MINUTE_STEPS =
  'the consumption rate sums 5-minute subquery steps, which Prometheus aligns to multiples of 5 minutes since the epoch: the first value comes up to 10 minutes after Prometheus starts';
const EXPECTED_EMPTY: Record<string, string> = {
  'Forecast: hours until empty A': FIVE_MINUTE_STEPS,
  'Consumption rate (credits/hour) B': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaCreditsExhaustionForecast A': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaCreditsExhaustionForecast Q1': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaExporterDown': 'every scrape target is up in this test (alerting-e2e.test.ts has one that is down)',
  'Grafana alert ZexaApiKeyShared': 'no two simulator accounts share a key here (alerting-e2e.test.ts has a shared one)',
  'Grafana alert ZexaApiKeyRotationDue': 'every key here is fresh (alerting-e2e.test.ts has an old key file)',
};

interface Query {
  key: string;
  expr: string;
  kind: 'range' | 'instant';
}

interface Series {
  metric: Record<string, string>;
}

function queries(): Query[] {
  const dashboard = loadDashboard();
  const fromPanels = allPanels(dashboard).flatMap((p) =>
    (p.targets ?? []).map((t) => {
      const target = t as typeof t & { instant?: boolean; range?: boolean };
      return { key: `${p.title} ${t.refId}`, expr: t.expr, kind: target.instant === true && target.range !== true ? ('instant' as const) : ('range' as const) };
    }),
  );
  const fromAlerts = loadGrafanaAlerts().groups.flatMap((g) =>
    g.rules.flatMap((r) =>
      r.data
        .filter((q) => q.datasourceUid !== '__expr__')
        .map((q) => ({ key: `Grafana alert ${r.title}${r.data.filter((d) => d.datasourceUid !== '__expr__').length > 1 ? ` ${q.refId}` : ''}`, expr: String(q.model.expr), kind: 'instant' as const })),
    ),
  );
  return [...fromPanels, ...fromAlerts];
}

describe.skipIf(prometheus.missing || alertmanager.missing)('every dashboard and Grafana alert query, live against Prometheus scraping the exporter', () => {
  let harness: Harness;
  let behind: Harness;
  let stack: PrometheusStack;
  let startedAt: number;

  async function api(path: string, params: Record<string, string>): Promise<{ resultType?: string; result?: Series[] } | string[]> {
    const res = await fetch(`${stack.prometheusUrl}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Series[] } | string[] };
    if (body.status !== 'success' || body.data === undefined) throw new Error(body.error ?? `HTTP ${res.status}`);
    return body.data;
  }

  function grafanaTime(): GrafanaTime {
    // The dashboard's own range would reach back before the run; what exists is the run so far.
    return { rangeS: Math.max(10, Math.ceil((Date.now() - startedAt) / 1000)), scrapeIntervalS: 1, maxDataPoints: 1000 };
  }

  async function run(query: Query, account: string): Promise<Series[]> {
    const time = grafanaTime();
    const promql = substitute(query.expr, { account }, time);
    if (query.kind === 'instant') {
      const data = (await api('/api/v1/query', { query: promql })) as { result: Series[] };
      return data.result;
    }
    const end = Date.now() / 1000;
    const data = (await api('/api/v1/query_range', { query: promql, start: String(end - time.rangeS), end: String(end), step: String(intervalSeconds(time)) })) as {
      result: Series[];
    };
    return data.result;
  }

  beforeAll(async () => {
    startedAt = Date.now();
    harness = await startHarness({ accounts: SIM_ACCOUNTS, intervalMs: 1000, timeoutMs: 900, maxAttempts: 1, logLevel: 'warn' });
    const offset = -20 * 60_000;
    behind = await startHarness({
      accounts: [{ name: STALE, key: 'zx_live_dash_stuck_0001', credits: 3000 }],
      intervalMs: 1000,
      timeoutMs: 900,
      maxAttempts: 1,
      logLevel: 'warn',
      clock: { ...systemClock, now: () => Date.now() + offset },
    });
    // Its first poll succeeds (20 minutes ago, by its clock); every poll after that fails.
    await until(() => behind.exporter.store.get(STALE)?.up === true, 15_000, 'the stale account\'s first success');
    behind.sim.setFault(STALE, { kind: 'server_error', status: 503 });
    stack = await startPrometheusStack({
      targets: [new URL(harness.exporter.url).host, new URL(behind.exporter.url).host],
      prometheusBin: prometheus.path!,
      alertmanagerBin: alertmanager.path!,
    });
    // Enough history for the rates: the draining account's consumption shows, the stale one is stale.
    await stack.waitForSeries('rate(zexa_credits_consumed_total{account="production"}[1m]) > 0', 30_000);
    await stack.waitForSeries('increase(zexa_credits_consumed_total{account="draining"}[1h]) > 20000', 30_000);
    await stack.waitForSeries(`increase(zexa_poll_errors_total{account="flaky"}[1m]) > 0`, 30_000);
    await stack.waitForSeries(`time() - zexa_last_success_timestamp_seconds{account="${STALE}"} > 900`, 30_000);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await harness?.close();
    await behind?.close();
  });

  it('the account variable lists every account, as Grafana asks for it', async () => {
    const variable = loadDashboard().templating.list.find((v) => v.name === 'account')!;
    const lv = labelValuesQuery(String(variable.query));
    expect(lv, `the account variable's query ${String(variable.query)}`).toBeDefined();
    const values = (await api(`/api/v1/label/${lv!.label}/values`, { 'match[]': lv!.metric })) as string[];
    expect([...values].sort()).toEqual(EVERY_ACCOUNT);
  });

  it('covers every panel target and Grafana alert query (and lists no stale exceptions)', () => {
    const keys = queries().map((q) => q.key);
    expect(keys.length).toBeGreaterThan(15);
    for (const key of [...Object.keys(SOME_ACCOUNTS), ...Object.keys(EXPECTED_EMPTY)]) expect(keys, `listed query ${key} no longer exists`).toContain(key);
  });

  /** What is wrong with one query's answer now, or undefined. */
  async function problemOf(query: Query, account: string): Promise<string | undefined> {
    let series: Series[];
    try {
      series = await run(query, account);
    } catch (error) {
      return `${query.key}: ${(error as Error).message}\n    ${query.expr}`;
    }
    if (query.key in EXPECTED_EMPTY) return undefined;
    if (series.length === 0) return `${query.key}: no series\n    ${query.expr}`;
    const accounts = [...new Set(series.flatMap((s) => (s.metric.account === undefined ? [] : [s.metric.account])))].sort();
    if (accounts.length === 0) return undefined;
    // An alert query selects the accounts in trouble (how many depends on the rule's shape and
    // the refId), so it must show some of the simulator's accounts and nothing else.
    if (query.key.startsWith('Grafana alert ')) {
      const strangers = accounts.filter((a) => !EVERY_ACCOUNT.includes(a));
      return strangers.length === 0 ? undefined : `${query.key}: accounts not in the simulator: ${strangers.join(', ')}\n    ${query.expr}`;
    }
    const listed = SOME_ACCOUNTS[query.key];
    const expected = listed?.accounts.slice().sort() ?? EVERY_ACCOUNT;
    const shown = listed?.orMore === true ? accounts.filter((a) => expected.includes(a)) : accounts;
    if (JSON.stringify(shown) !== JSON.stringify(expected)) return `${query.key}: accounts ${accounts.join(', ')}; expected ${expected.join(', ')}\n    ${query.expr}`;
    return undefined;
  }

  for (const selection of ['All', 'every account selected'] as const) {
    it(`every query runs and returns series for the simulator's accounts, $account = ${selection}`, async () => {
      const variable = loadDashboard().templating.list.find((v) => v.name === 'account')! as { allValue?: string };
      const account = regexValue(selection === 'All' ? 'All' : EVERY_ACCOUNT, variable.allValue);
      const problems: string[] = [];
      for (const query of queries()) {
        // Asked again for a while: on a busy machine a scrape can time out, and an instant query
        // then misses that target's series until the next scrape.
        await vi
          .waitFor(
            async () => {
              const problem = await problemOf(query, account);
              if (problem !== undefined) throw new Error(problem);
            },
            { timeout: 15_000, interval: 500 },
          )
          .catch((error: Error) => problems.push(error.message));
      }
      expect(problems, 'queries that failed, came back empty or showed the wrong accounts').toEqual([]);
    }, 180_000);
  }
});
