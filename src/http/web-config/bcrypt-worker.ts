/**
 * bcrypt comparisons on a worker thread of their own. bcryptjs's async compare runs on the main
 * thread in slices of 100 ms and yields with setImmediate between them; every slice holds up the
 * whole event loop, so during a password-guessing flood the server took in about one new
 * connection per slice. Measured on a loaded 2-core machine: 200 plain requests took 25 s beside
 * such a slice loop against 1.5 s without it, and a scrape with cached credentials waited 22 s
 * behind 200 wrong passwords. On a worker, the comparisons cost CPU but never hold up the loop:
 * cached credentials, `/healthz` and the 503s of a full queue are answered at once.
 *
 * The worker starts with the first comparison (only web configs with basic_auth_users ever
 * make one), is unref'd so it never keeps the process alive, and is started again after a crash.
 * It runs one comparison at a time; auth-queue.ts decides which comes next.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, CommonJS so it runs from a string: the exporter ships compiled, but its tests
 * run the TypeScript sources, and a file next to this one would exist in only one of the two.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', ({ id, password, hash }) => {
  let ok = false;
  let failed = false;
  try {
    ok = bcrypt.compareSync(password, hash);
  } catch {
    failed = true;
  }
  parentPort.postMessage({ id, ok, failed });
});
`;

interface Answer {
  id: number;
  ok: boolean;
  failed: boolean;
}

export interface BcryptWorker {
  /** Whether `password` matches the bcrypt `hash`; rejects when bcrypt fails or the worker died. */
  compare(password: string, hash: string): Promise<boolean>;
  /** Stops the worker; a later compare starts a new one. */
  close(): Promise<void>;
}

export function createBcryptWorker(): BcryptWorker {
  // Resolved here, where node_modules is known; the worker's own require would look from the cwd.
  const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (ok: boolean) => void; reject: (error: Error) => void }>();

  const failAll = (error: Error): void => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
    w.unref();
    w.on('message', (answer: Answer) => {
      const waiter = pending.get(answer.id);
      pending.delete(answer.id);
      if (answer.failed) waiter?.reject(new Error('bcrypt comparison failed'));
      else waiter?.resolve(answer.ok);
    });
    w.on('error', () => undefined); // 'exit' follows and says the rest
    w.on('exit', () => {
      if (worker === w) worker = undefined;
      failAll(new Error('the bcrypt worker stopped'));
    });
    return w;
  };

  return {
    compare(password, hash) {
      worker ??= start();
      const id = nextId++;
      const w = worker;
      return new Promise<boolean>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage({ id, password, hash });
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w !== undefined) await w.terminate();
    },
  };
}
