/**
 * The `node` the bench runs the exporter on. The image runs Node.js 24, so that is the default:
 * the machine's own `node` when it is 24, otherwise the npm registry's `node@24` package,
 * installed once into the same cache `.ci/run` uses (its preinstall unpacks the official binary).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_NODE_MAJOR = 24;

export interface NodeRuntime {
  readonly path: string;
  /** `v24.11.0`: what the table's first row says. */
  readonly version: string;
}

function cacheDir(): string {
  return (
    process.env.ZEXA_CI_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'zexa-exporter-ci')
  );
}

function versionOf(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
}

/** The `node` binary of this major: this process's own when it is that major, else the cached or freshly installed `node@<major>`. */
export function resolveNode(major: number): NodeRuntime {
  if (Number(process.versions.node.split('.')[0]) === major)
    return { path: process.execPath, version: process.version };
  const prefix = join(cacheDir(), `node-${major}`);
  const path = join(prefix, 'node_modules', '.bin', 'node');
  if (!existsSync(path)) {
    console.error(`bench: fetching Node.js ${major} from the npm registry (node@${major}) into ${prefix}`);
    rmSync(prefix, { recursive: true, force: true });
    execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', `node@${major}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  const version = versionOf(path);
  if (!version.startsWith(`v${major}.`)) throw new Error(`${path} is Node.js ${version}, not ${major}`);
  return { path, version };
}
