import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The test tiers, one vitest project each (DEVELOPERS.md "Test tiers"):
 *
 * - unit: one module at a time, in process, against loopback servers at most. Needs no build.
 * - integration: the exporter as a whole, often the real `dist/` process, against the simulator.
 * - ops: the files operators run (Dockerfile, compose, Kubernetes, Prometheus rules, Grafana),
 *   the installs, the supply chain and the bench tooling, with the outside programs they need.
 * - browser: the status page in a real Chromium.
 *
 * Tiers that start `dist/` build it once first (test/global-setup.ts). The image test
 * (test/image/, in no tier here) builds and runs the container image: `npm run test:image`, which CI
 * runs once on the image's Node.js, not once per major (vitest.image.config.ts).
 */
const BUILD = ['test/global-setup.ts'];

/**
 * Files at once in the integration and ops tiers. vitest's default is one less than the cores,
 * which on a 2-core machine ran each tier's files one after the other, although they mostly wait
 * on the processes, servers and Prometheus they start (a tier kept about half a core busy).
 */
const WAITING_TIER_WORKERS = Math.max(2, availableParallelism() - 1);

/**
 * The ops files that run a live Prometheus and Alertmanager (test/support/prometheus-stack.ts),
 * with rules evaluated every second and `for:` cut to a second: one at a time, so no two stacks
 * share the two cores, and their one-second timing is not squeezed further by another stack.
 */
const LIVE_STACK_FILES = [
  'test/ops/alerting-e2e.test.ts',
  'test/ops/alerting-rollout-e2e.test.ts',
  'test/ops/dashboard-live.test.ts',
  'test/ops/key-hygiene-relabel.test.ts',
  'test/ops/openmetrics-scrape.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    // Integration tests start real servers and child processes; a busy 2-core machine needs slack.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Unit files share their workers' module cache instead of importing src/ afresh for each
          // file: a third of the tier's time went to imports. A unit test that changes process
          // state (env, prototypes, timers) restores it, which the tier running green in one
          // worker shows.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: BUILD,
          maxWorkers: WAITING_TIER_WORKERS,
        },
      },
      {
        extends: true,
        test: {
          name: 'ops',
          include: ['test/ops/**/*.test.ts', 'test/bench/**/*.test.ts', 'test/*.test.ts'],
          exclude: LIVE_STACK_FILES,
          globalSetup: BUILD,
          maxWorkers: WAITING_TIER_WORKERS,
          // promtool, kubectl, tsc and a bench run are CPU-bound; at a load average of 25 on two
          // cores single tests took 30-70 s. The timeout only guards against a hang.
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        // Part of the ops tier (`npm run test:ops` runs both projects), beside the other ops files.
        test: {
          name: 'ops-live',
          include: LIVE_STACK_FILES,
          globalSetup: BUILD,
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        // A page of 10,000 accounts rendered and walked in Chromium is CPU-bound like the ops tier.
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], globalSetup: BUILD, testTimeout: 120_000 },
      },
    ],
  },
});
