/**
 * `npm run audit`: the production dependency tree has no known high or critical advisory.
 *
 * `npm audit` asks the registry's advisory endpoint over the network, so it is a script CI may
 * call, not part of the test suite (the rest of the supply-chain checks, which need no network,
 * are in test/supply-chain.test.ts). Exit codes: 0 clean, 1 a high or critical advisory, 2 the
 * audit could not run.
 *
 * When the endpoint cannot be reached (offline, or a mirror that does not serve it) the audit is
 * skipped with a loud notice. Under CI=true an endpoint that did not answer is a failure; one that
 * refused with a 4xx (as this workplace's registry does, 405) is final for every run, so it skips
 * there too, loudly.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM_TIMEOUT_MS = 120_000;

type Severity = 'info' | 'low' | 'moderate' | 'high' | 'critical';

export interface AuditVulnerability {
  name: string;
  severity: Severity;
  via: (string | { title?: string; url?: string; severity?: Severity })[];
  range?: string;
  fixAvailable?: unknown;
}

export type AuditOutcome =
  | { kind: 'report'; counts: Record<Severity, number>; vulnerabilities: AuditVulnerability[] }
  | { kind: 'unavailable'; why: string };

/**
 * Reads `npm audit --json`. A report has `metadata.vulnerabilities`; an endpoint that could not
 * be asked gives an error object instead (network codes, or an HTTP status from a registry that
 * does not serve the advisory API). Anything else is a broken audit and throws.
 */
export function readAudit(stdout: string): AuditOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`npm audit printed no JSON; its output began with: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const value = parsed as {
    metadata?: { vulnerabilities?: Partial<Record<Severity, number>> };
    vulnerabilities?: Record<string, AuditVulnerability>;
    error?: { code?: string; summary?: string; detail?: string };
    message?: string;
    statusCode?: number;
    uri?: string;
  };
  const counts = value.metadata?.vulnerabilities;
  if (counts !== undefined) {
    return {
      kind: 'report',
      counts: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts },
      vulnerabilities: Object.values(value.vulnerabilities ?? {}),
    };
  }
  if (value.error !== undefined || value.statusCode !== undefined) {
    const what = [value.error?.code, value.message, value.error?.summary].filter(
      (part) => part !== undefined && part !== '',
    );
    return { kind: 'unavailable', why: what.join(': ') || 'the audit endpoint returned an error' };
  }
  throw new Error(`npm audit printed JSON without metadata.vulnerabilities or error: ${stdout.slice(0, 200)}`);
}

export function describeVulnerability(v: AuditVulnerability): string {
  const advisories = v.via
    .map((via) =>
      typeof via === 'string'
        ? `via ${via}`
        : `${via.title ?? 'advisory'}${via.url === undefined ? '' : ` (${via.url})`}`,
    )
    .join('; ');
  return `${v.name} ${v.range ?? ''} [${v.severity}]: ${advisories}`;
}

/** What the audit's outcome means for the exit code, with the lines to print. */
export function judgeAudit(outcome: AuditOutcome, ci: boolean): { code: 0 | 1 | 2; lines: string[] } {
  if (outcome.kind === 'unavailable') {
    const message = `npm audit could not ask the registry's advisory endpoint (${outcome.why}); nothing was audited`;
    // A registry that answers the advisory endpoint with a 4xx has said no for good: no run, CI
    // or not, can audit against it. Anything else (no answer at all) is a broken step in CI.
    const refused = /\b4\d\d\b/.test(outcome.why);
    if (ci && !refused) return { code: 2, lines: [`audit: CI=true and ${message}`] };
    return { code: 0, lines: [`*** SKIPPING AUDIT: ${message} ***`] };
  }
  const serious = outcome.vulnerabilities.filter((v) => v.severity === 'high' || v.severity === 'critical');
  const { high, critical, moderate, low } = outcome.counts;
  const summary = `audit: production dependencies: ${critical} critical, ${high} high, ${moderate} moderate, ${low} low`;
  if (serious.length > 0 || high + critical > 0)
    return { code: 1, lines: [summary, ...serious.map(describeVulnerability)] };
  return { code: 0, lines: [summary] };
}

function npmAudit(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['audit', '--omit=dev', '--json'],
      {
        cwd: ROOT,
        timeout: NPM_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, NO_UPDATE_NOTIFIER: '1', npm_config_fund: 'false' },
      },
      (error, stdout) => {
        // npm audit exits 1 when it finds anything; only a failure to run at all is an error.
        if (error !== null && typeof error.code !== 'number')
          reject(new Error(`npm audit did not run: ${error.message}`, { cause: error }));
        else resolve(stdout);
      },
    );
  });
}

async function main(): Promise<number> {
  const { code, lines } = judgeAudit(readAudit(await npmAudit()), process.env.CI === 'true');
  for (const line of lines) (code === 0 ? console.log : console.error)(line);
  return code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(`audit: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
