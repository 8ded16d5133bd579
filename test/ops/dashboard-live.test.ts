/**
 * Every query of the Grafana dashboard and of the Grafana-managed alert rules, run live (issue
 * 15): a real Prometheus (the shipped prometheus.yml and rules, scraping and evaluating every
 * second) scrapes the real exporter polling the built-in simulator's demo accounts, one in each
 * state, and a fleet of more accounts than a dashboard target may return series. The dashboard
 * JSON and the alert file are read when the test runs, so a new panel is covered without a change
 * here.
 *
 * Queries go out the way Grafana sends them: panel targets as range queries (step $__interval) or
 * instant queries as the target says, the variables at the values the dashboard opens with
 * (`$N` its default, `$account` the first account of its list) or as the overview's links fill
 * `$account` in, and `$__rate_interval`, `$__interval`, `$__range` worked out from the time range
 * and the scrape interval. Each must succeed; every dashboard target returns at most
 * TARGET_SERIES_LIMIT series, so the dashboard opens at any fleet size; an overview target returns
 * series of the simulator's accounts only, an account-row target those of its account only.
 *
 * A second exporter whose clock runs 20 minutes behind holds one account whose only success is
 * therefore 20 minutes old, so the staleness query has a series without waiting 15 minutes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { demoAccounts, generateAccounts } from '../../src/simulator/index.js';
import { startHarness, until, type Harness } from '../support/exporter-harness.js';
import { requireProgram } from '../support/external.js';
import { startPrometheusStack, type PrometheusStack } from '../support/prometheus-stack.js';
import {
  defaultVariables,
  durationSeconds,
  intervalSeconds,
  labelValuesQuery,
  substitute,
  type GrafanaTime,
  type TemplateVariable,
} from './grafana-variables.js';
import { loadDashboard, loadGrafanaAlerts, panelQueries } from './ops-files.js';

const prometheus = requireProgram(['prometheus'], 'prometheus');
const alertmanager = requireProgram(['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');

/**
 * The demo's accounts, plus one that drains fast: a 6 h rate over a few seconds of history is
 * tiny, so only a drain this steep forecasts exhaustion within 72 h in a short run.
 */
/**
 * The most series a dashboard target may return, at its default variables, at any fleet size:
 * a browser draws no more usefully, and Prometheus answers it in well under a second.
 */
const TARGET_SERIES_LIMIT = 50;
const TOO_MANY = `more than ${TARGET_SERIES_LIMIT}`;
/** More accounts than the limit, so a target returning one series per account fails it. */
const FLEET = generateAccounts(TARGET_SERIES_LIMIT + 10, { prefix: 'fleet', seed: 'dashboard-live' });
const SIM_ACCOUNTS = [
  ...demoAccounts(),
  { name: 'draining', key: 'zx_live_dash_draining_0001', credits: 200_000, drainPerRequest: 2000 },
  ...FLEET,
];
const STALE = 'stuck';
const EVERY_ACCOUNT = [...SIM_ACCOUNTS.map((a) => a.name), STALE].sort();

/**
 * Queries expected to return nothing in a short run, with the reason. A listed query must still
 * run without error (test/ops/alerting-e2e.test.ts waits long enough to see the forecast fire).
 */
const FIVE_MINUTE_STEPS =
  'the consumption rates are recorded every 5 minutes from 5-minute steps, which Prometheus aligns to multiples of 5 minutes since the epoch: the first value comes up to 10 minutes after Prometheus starts';
const EXPECTED_EMPTY: Record<string, string> = {
  'Soonest to run out A': FIVE_MINUTE_STEPS,
  'Fleet consumption (credits/hour) A': FIVE_MINUTE_STEPS,
  'Fleet consumption (credits/hour) B': FIVE_MINUTE_STEPS,
  'Hours until empty A': FIVE_MINUTE_STEPS,
  'Consumption of $account (credits/hour) B': FIVE_MINUTE_STEPS,
  'Consumption of $account (credits/hour) C': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaCreditsExhaustionForecast A': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaCreditsExhaustionForecast Q1': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaCreditsExhaustionImminent A': FIVE_MINUTE_STEPS,
  'Grafana alert ZexaCreditsExhaustionImminent Q1':
    "the 5-minute rate is recorded once an account's counter goes back 4m30s: rate() over fewer samples is a fraction of the real rate",
  'Grafana alert ZexaExporterDown':
    'every scrape target is up in this test (alerting-e2e.test.ts has one that is down)',
  'Grafana alert ZexaApiKeyShared':
    'no two simulator accounts share a key here (alerting-e2e.test.ts has a shared one)',
  'Grafana alert ZexaApiKeyRotationDue': 'every key here is fresh (alerting-e2e.test.ts has an old key file)',
};

/**
 * The account row, as the overview's links open it for accounts in different states: the
 * targets of the row that return nothing for that account, by design (beyond EXPECTED_EMPTY).
 */
const ROW_CASES: Record<string, { empty: string[]; why: string }> = {
  production: { empty: ['Failed polls of $account A'], why: 'its polls all succeed' },
  legacy: {
    empty: ['Balance of $account A', 'Age of the last successful poll of $account A'],
    why: 'its key never worked (401), so it has no balance and no last success',
  },
  flaky: { empty: [], why: 'it has a balance and failed polls' },
};

interface Query {
  key: string;
  expr: string;
  kind: 'range' | 'instant';
  interval?: string;
}

interface Series {
  metric: Record<string, string>;
}

function queries(): Query[] {
  const fromPanels = panelQueries(loadDashboard());
  const fromAlerts = loadGrafanaAlerts().groups.flatMap((g) =>
    g.rules.flatMap((r) =>
      r.data
        .filter((q) => q.datasourceUid !== '__expr__')
        .map((q) => ({
          key: `Grafana alert ${r.title}${r.data.filter((d) => d.datasourceUid !== '__expr__').length > 1 ? ` ${q.refId}` : ''}`,
          expr: String(q.model.expr),
          kind: 'instant' as const,
        })),
    ),
  );
  return [...fromPanels, ...fromAlerts];
}

/** The keys of the targets in the collapsed account row. */
function rowKeys(): Set<string> {
  const row = loadDashboard().panels.find((p) => p.type === 'row');
  return new Set((row?.panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => `${p.title} ${t.refId}`)));
}

describe.skipIf(prometheus.missing || alertmanager.missing)(
  'every dashboard and Grafana alert query, live against Prometheus scraping the exporter',
  () => {
    let harness: Harness;
    let behind: Harness;
    let stack: PrometheusStack;
    let startedAt: number;

    async function api(
      path: string,
      params: Record<string, string>,
    ): Promise<{ resultType?: string; result?: Series[] } | string[]> {
      const res = await fetch(`${stack.prometheusUrl}${path}?${new URLSearchParams(params)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: Series[] } | string[];
      };
      if (body.status !== 'success' || body.data === undefined) throw new Error(body.error ?? `HTTP ${res.status}`);
      return body.data;
    }

    function grafanaTime(): GrafanaTime {
      // The dashboard's own range would reach back before the run; what exists is the run so far.
      return {
        rangeS: Math.max(10, Math.ceil((Date.now() - startedAt) / 1000)),
        scrapeIntervalS: 1,
        maxDataPoints: 1000,
      };
    }

    async function run(query: Query, variables: Record<string, string>): Promise<Series[]> {
      const minIntervalS = durationSeconds(query.interval);
      const time = minIntervalS === undefined ? grafanaTime() : { ...grafanaTime(), minIntervalS };
      const promql = substitute(query.expr, variables, time);
      if (query.kind === 'instant') {
        const data = (await api('/api/v1/query', { query: promql })) as { result: Series[] };
        return data.result;
      }
      const end = Date.now() / 1000;
      const data = (await api('/api/v1/query_range', {
        query: promql,
        start: String(end - time.rangeS),
        end: String(end),
        step: String(intervalSeconds(time)),
      })) as {
        result: Series[];
      };
      return data.result;
    }

    beforeAll(async () => {
      startedAt = Date.now();
      harness = await startHarness({
        accounts: SIM_ACCOUNTS,
        intervalMs: 1000,
        timeoutMs: 900,
        maxAttempts: 1,
        logLevel: 'warn',
      });
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
      await until(() => behind.exporter.store.get(STALE)?.up === true, 15_000, "the stale account's first success");
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
      // The recording rules have run over all of it.
      await stack.waitForSeries(
        `time() - account:zexa_last_success_timestamp_seconds:max{account="${STALE}"} > 900`,
        30_000,
      );
      await stack.waitForSeries(
        'ALERTS{alertname="ZexaApiKeyUnauthorized",account="legacy",alertstate="firing"}',
        30_000,
      );
    }, 120_000);

    /** The variables as the dashboard opens: each at its default. */
    async function openingVariables(): Promise<Record<string, string>> {
      return defaultVariables(
        loadDashboard().templating.list as unknown as TemplateVariable[],
        async (metric, label) => (await api(`/api/v1/label/${label}/values`, { 'match[]': metric })) as string[],
      );
    }

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
      const listed = [...Object.keys(EXPECTED_EMPTY), ...Object.values(ROW_CASES).flatMap((c) => c.empty)];
      for (const key of listed) expect(keys, `listed query ${key} no longer exists`).toContain(key);
    });

    /** What is wrong with one query's answer now, or undefined. `accounts`: the accounts it may show. */
    async function problemOf(
      query: Query,
      variables: Record<string, string>,
      accounts: readonly string[],
      mayBeEmpty: boolean,
    ): Promise<string | undefined> {
      let series: Series[];
      try {
        series = await run(query, variables);
      } catch (error) {
        return `${query.key}: ${(error as Error).message}\n    ${query.expr}`;
      }
      const isTarget = !query.key.startsWith('Grafana alert ');
      if (isTarget && series.length > TARGET_SERIES_LIMIT)
        return `${query.key}: ${series.length} series, ${TOO_MANY}\n    ${query.expr}`;
      if (series.length === 0)
        return mayBeEmpty || query.key in EXPECTED_EMPTY ? undefined : `${query.key}: no series\n    ${query.expr}`;
      const shown = [
        ...new Set(series.flatMap((s) => (s.metric.account === undefined ? [] : [s.metric.account]))),
      ].sort();
      const strangers = shown.filter((a) => !accounts.includes(a));
      return strangers.length === 0
        ? undefined
        : `${query.key}: accounts ${strangers.join(', ')} should not be there\n    ${query.expr}`;
    }

    /**
     * Runs `checks`, each asked again for a while: on a busy machine a scrape can time out, and an
     * instant query then misses that target's series until the next scrape. Too many series is
     * final: a missed scrape only ever makes fewer.
     */
    async function problems(checks: Array<() => Promise<string | undefined>>): Promise<string[]> {
      const found: string[] = [];
      for (const check of checks) {
        let final: string | undefined;
        await vi
          .waitFor(
            async () => {
              const problem = await check();
              if (problem?.includes(TOO_MANY) === true) final = problem;
              else if (problem !== undefined) throw new Error(problem);
            },
            { timeout: 15_000, interval: 500 },
          )
          .catch((error: Error) => found.push(error.message));
        if (final !== undefined) found.push(final);
      }
      return found;
    }

    it(`opens with $N = 20 and $account = the first account of its list, never All`, async () => {
      expect(await openingVariables()).toEqual({ N: '20', account: EVERY_ACCOUNT[0] });
    });

    it(`every query runs at the variables the dashboard opens with, and every dashboard target returns at most ${TARGET_SERIES_LIMIT} series`, async () => {
      const variables = await openingVariables();
      const row = rowKeys();
      const found = await problems(
        queries().map(
          (query) => () =>
            // The default account's row may be empty (the first account need not have a balance);
            // the row's series are checked per account in the next test.
            row.has(query.key)
              ? problemOf(query, variables, [variables.account!], true)
              : problemOf(query, variables, EVERY_ACCOUNT, false),
        ),
      );
      expect(
        found,
        `queries that failed, came back empty, returned too many series or showed the wrong accounts (${JSON.stringify(variables)})`,
      ).toEqual([]);
    }, 180_000);

    it("the overview's tables list $N accounts, and its state counts are the accounts' alerts", async () => {
      const variables = await openingVariables();
      const byKey = new Map(queries().map((q) => [q.key, q]));
      // More accounts than $N have a balance, so the table is full.
      await vi.waitFor(
        async () => expect(await run(byKey.get('Least credits left A')!, variables)).toHaveLength(Number(variables.N)),
        { timeout: 15_000, interval: 500 },
      );
      const watched = await run(byKey.get('Accounts by state A')!, variables);
      expect(watched.map((s) => Number((s as Series & { value: [number, string] }).value[1]))).toEqual([
        EVERY_ACCOUNT.length,
      ]);
      const unauthorized = queries().find(
        (q) => q.key.startsWith('Accounts by state') && q.expr.includes('ZexaApiKeyUnauthorized'),
      )!;
      await vi.waitFor(
        async () => {
          const [count] = (await run(unauthorized, variables)) as Array<Series & { value: [number, string] }>;
          expect(Number(count?.value[1])).toBeGreaterThanOrEqual(1);
        },
        { timeout: 15_000, interval: 500 },
      );
    }, 60_000);

    for (const [account, expected] of Object.entries(ROW_CASES)) {
      it(`the account row shows ${account} only, as the overview's links open it (${expected.why})`, async () => {
        const variables = { ...(await openingVariables()), account };
        const row = rowKeys();
        const found = await problems(
          queries()
            .filter((q) => row.has(q.key))
            .map((query) => () => problemOf(query, variables, [account], expected.empty.includes(query.key))),
        );
        expect(found, 'account-row queries that failed, came back empty or showed other accounts').toEqual([]);
      }, 120_000);
    }
  },
);
