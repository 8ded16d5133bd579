/**
 * Podman as the image test drives it: rootful, with the flags this kind of machine needs, and
 * every container it starts removed at the end.
 * - `--runtime runc`: crun refuses with "cgroups in hybrid mode not supported".
 * - `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024`: raising the limits is refused.
 * - `build --format docker`: the default OCI format drops HEALTHCHECK.
 * - `--network host` for the build (npm ci reaches the registry) and for containers that talk to
 *   the simulator on the host's 127.0.0.1; containers that need no outside address get their own
 *   network namespace, so the default port 10025 is never taken on the shared host.
 */
import { execFile, spawn } from 'node:child_process';

const RUNTIME = ['--runtime', 'runc'];
export const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
/** What the Kubernetes securityContext asks: readOnlyRootFilesystem, drop ALL, allowPrivilegeEscalation false. */
export const HARDENED = ['--read-only', '--cap-drop=ALL', '--security-opt', 'no-new-privileges'];

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `podman <args>` to its end; never rejects, the caller reads the exit code. */
export function podman(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      'podman',
      [...RUNTIME, ...args],
      { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `command args`, its output shown as it comes (long builds stay visible in the CI log). */
export function runShown(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
}

/** Containers started by this process, removed by `removeAll`. */
export class Containers {
  private readonly names: string[] = [];
  private next = 0;

  /** `podman run -d --name <unique> <args>`; returns the name. Fails the test when podman refuses. */
  async start(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const name = `zexa-image-test-${process.pid}-${this.next++}`;
    this.names.push(name);
    const result = await podman(['run', '-d', '--name', name, ...LIMITS, ...args], env);
    if (result.code !== 0) throw new Error(`podman run ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return name;
  }

  async removeAll(): Promise<void> {
    for (const name of this.names) await podman(['rm', '-f', '-t', '0', name]);
  }
}

/** `podman healthcheck run`: the image's HEALTHCHECK as the engine runs it; true when healthy. */
export async function healthy(container: string): Promise<Result> {
  return podman(['healthcheck', 'run', container]);
}
