/**
 * `systemd-analyze verify` (Debian's `systemd` package; it needs no systemd as PID 1) as the unit
 * tests run it: any line it prints is a failure, warnings included, since it exits 0 on most of
 * them (an unknown key, a bad value it ignores).
 */
import { execFile } from 'node:child_process';

export interface Verdict {
  code: number;
  output: string;
}

/**
 * Verifies `unit`. When `prefix` (an `npm install -g --prefix` directory) is given, it is
 * bind-mounted over /usr/local, npm's global prefix, in a private mount namespace first (root
 * only), so a unit naming /usr/local/bin/zexa-exporter is checked against a real install without
 * touching the machine's /usr/local.
 */
export function verifyUnit(systemdAnalyze: string, unit: string, prefix?: string): Promise<Verdict> {
  const [command, args] =
    prefix === undefined
      ? [systemdAnalyze, ['verify', unit]]
      : [
          'unshare',
          [
            '--mount',
            '--propagation',
            'private',
            '--',
            'sh',
            '-ec',
            'mount --bind "$1" /usr/local; exec "$2" verify "$3"',
            'sh',
            prefix,
            systemdAnalyze,
            unit,
          ],
        ];
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
        output: (stdout + stderr).trim(),
      });
    });
  });
}
