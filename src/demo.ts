#!/usr/bin/env node
/**
 * `npm run demo`: the exporter against the built-in simulator, no Zexa key needed. The simulator
 * runs in-process with accounts in every state; the exporter polls it every 5 s. Flags and
 * environment variables work as for the real exporter (e.g. --web.listen-address=:9999), except
 * the API URL and keys, which the demo sets.
 */
import { HelpRequested, usage, VersionRequested } from './config/cli.js';
import { loadConfig, nodeConfigSources } from './config/load.js';
import { VERSION } from './version.js';
import { ConfigError } from './errors.js';
import { startExporter } from './runtime/exporter.js';
import { demoAccounts, startSimulator } from './simulator/index.js';

async function main(): Promise<number> {
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
  delete env.ZEXA_EXPORTER_CONFIG;

  let exporter;
  try {
    const argv = process.argv.slice(2).filter((a) => !a.startsWith('--config.file'));
    exporter = await startExporter(loadConfig(nodeConfigSources(argv, env)), { env });
  } catch (error) {
    await simulator.close();
    if (error instanceof HelpRequested) {
      console.log(`npm run demo: the exporter against the built-in simulator; the exporter's flags work here too.\n\n${usage()}`);
      return 0;
    }
    if (error instanceof VersionRequested) {
      console.log(`zexa-exporter ${VERSION} (demo)`);
      return 0;
    }
    if (error instanceof ConfigError) {
      console.error(`zexa-exporter demo: ${error.message}`);
      return 2;
    }
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      console.error('zexa-exporter demo: port 10025 is in use; run with --web.listen-address=:10026 (or another free port)');
      return 2;
    }
    throw error;
  }

  const port = exporter.port;
  console.log(
    [
      '',
      'zexa-exporter demo is running against the built-in Zexa API simulator.',
      '',
      `  status page   http://localhost:${port}/`,
      `  metrics       http://localhost:${port}/metrics`,
      `  readiness     http://localhost:${port}/readyz`,
      `  simulator     ${simulator.url}/v1/credits`,
      '',
      'Accounts: production (draining), staging (below warning), marketing (below critical),',
      '          legacy (revoked key: 401), analytics (plan forbids: 403), flaky (intermittent 503).',
      'Polling every 5 s. Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

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
