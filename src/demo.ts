#!/usr/bin/env node
/**
 * `npm run demo`: the exporter against the built-in simulator, no Zexa key needed. The simulator
 * runs in-process with accounts in every state; the exporter polls it every 5 s. Flags and
 * environment variables work as for the real exporter (e.g. --web.listen-address=:9999), except
 * the API URL and keys, which the demo sets, and a configuration file, which it refuses: its
 * accounts are fixed, so a file's accounts and `POST /-/reload` would silently do nothing.
 */
import { nodeCheckDeps, runCheck } from './check/run.js';
import { helpOrVersion, usage } from './config/cli.js';
import { loadConfig, nodeConfigSources } from './config/load.js';
import { VERSION } from './version.js';
import { ConfigError } from './config/errors.js';
import { startExporter } from './runtime/exporter.js';
import { demoAccounts, startSimulator } from './simulator/index.js';

/** Why the demo cannot run with this command line or environment, or undefined when it can. */
export function refusedConfigFile(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const flag = argv.find((a) => a === '--config.file' || a.startsWith('--config.file='));
  const where =
    flag !== undefined ? `--config.file` : env.ZEXA_EXPORTER_CONFIG !== undefined ? 'ZEXA_EXPORTER_CONFIG' : undefined;
  if (where === undefined) return undefined;
  return (
    `${where} is not supported by the demo: it polls a fixed set of simulated accounts, so a configuration ` +
    'file (and POST /-/reload) would have no effect. To try a configuration file and reloads, start the ' +
    'simulator with key files (npm run simulator -- --key-dir /tmp/zexa-keys) and the exporter with ' +
    '--config.file (see "Try it with the simulator" in README.md)' +
    (flag === undefined ? '; or unset ZEXA_EXPORTER_CONFIG' : '')
  );
}

/** The addresses to print: where the exporter listens (`url`), scheme and port included. */
export function demoBanner(exporterUrl: string, simulatorUrl: string, listenAddress: string): string[] {
  const wildcard = /^(:|0\.0\.0\.0:|\[::\]:)\d+$/.test(listenAddress);
  return [
    '',
    'zexa-exporter demo is running against the built-in Zexa API simulator.',
    '',
    `  status page   ${exporterUrl}/`,
    `  metrics       ${exporterUrl}/metrics`,
    `  readiness     ${exporterUrl}/readyz`,
    `  simulator     ${simulatorUrl}/v1/credits`,
    ...(wildcard ? [`  (listening on ${listenAddress}: every interface of this machine)`] : []),
    '',
    'Accounts: production (draining), staging (below warning), marketing (below critical),',
    '          legacy (revoked key: 401), analytics (plan forbids: 403), flaky (intermittent 503).',
    'Polling every 5 s. Press Ctrl+C to stop.',
    '',
  ];
}

async function main(): Promise<number> {
  // `npm run demo -- check --help` is the check's help, given by the check itself.
  const request = process.argv[2] === 'check' ? undefined : helpOrVersion(process.argv.slice(2));
  if (request === 'help') {
    console.log(
      `npm run demo: the exporter against the built-in simulator; the exporter's flags work here too.\n\n${usage()}`,
    );
    return 0;
  }
  if (request === 'version') {
    console.log(`zexa-exporter ${VERSION} (demo)`);
    return 0;
  }
  const refused = refusedConfigFile(process.argv.slice(2), process.env);
  if (refused !== undefined) {
    console.error(`zexa-exporter demo: ${refused}`);
    return 2;
  }
  const simulator = await startSimulator({ accounts: demoAccounts() });
  const env: NodeJS.ProcessEnv = {};
  // Only settings that do not name a key or the API are taken from the caller's environment.
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('ZEXA_') && !name.startsWith('ZEXA_API_')) env[name] = value;
  }
  for (const account of demoAccounts()) env[`ZEXA_API_KEY_${account.name.toUpperCase()}`] = account.key;
  env.ZEXA_API_URL = simulator.url;
  env.ZEXA_POLL_INTERVAL ??= '5s';
  env.ZEXA_REQUEST_TIMEOUT ??= '2s';

  if (process.argv[2] === 'check') {
    // `npm run demo -- check`: the one-shot check against the same simulated accounts.
    const code = await runCheck(process.argv.slice(3), {
      ...nodeCheckDeps(env),
      program: 'zexa-exporter check (demo)',
    });
    await simulator.close();
    return code;
  }

  let exporter;
  let config;
  try {
    config = loadConfig(nodeConfigSources(process.argv.slice(2), env));
    exporter = await startExporter(config, { env });
  } catch (error) {
    await simulator.close();
    if (error instanceof ConfigError) {
      console.error(`zexa-exporter demo: ${error.message}`);
      return 2;
    }
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      console.error(
        `zexa-exporter demo: ${config?.web.listenAddress ?? 'the listen address'} is in use; run with --web.listen-address=:10026 (or another free port)`,
      );
      return 2;
    }
    throw error;
  }

  console.log(demoBanner(exporter.url, simulator.url, config.web.listenAddress).join('\n'));

  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void exporter
        .close()
        .then(() => simulator.close())
        .then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`zexa-exporter demo: ${error instanceof Error ? error.message : 'failed'}`);
    process.exit(1);
  },
);
