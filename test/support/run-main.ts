/**
 * Runs the exporter's `run()` (src/main.ts) in this process without the `process.exit` that
 * dist/main.js adds after it, so a test can see whether the process ends by itself after
 * shutdown: it does only when nothing was left running (no poller, timer or socket).
 *
 * A burst of SIGHUPs, all delivered before the first reload has ended: each line on stdin is a
 * JSON array of configuration texts; for each, the file named by RELOAD_BURST_FILE is replaced
 * with it and SIGHUP is emitted to the process's own handler, in one go. (Signals sent from
 * outside reach the process one per event-loop turn, and merge while one is pending.)
 */
import { renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { run } from '../../src/main.js';

const file = process.env.RELOAD_BURST_FILE;
if (file !== undefined) {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    for (const text of JSON.parse(line) as string[]) {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
      process.emit('SIGHUP', 'SIGHUP');
    }
  });
  // stdin must not keep the process alive once the exporter has stopped.
  process.stdin.unref();
}

process.exitCode = await run(process.argv.slice(2), process.env);
