/**
 * The loader's reads as steps, so that one loader serves both ways of running it. The loader is a
 * generator: where it needs a file or a directory it yields a request and gets the outcome back,
 * and it never touches the file system itself. `runSync` answers with ConfigSources, one read
 * after the other (start-up, `check`, the tests); `runAsync` answers with AsyncConfigSources, a
 * bounded number of reads at a time, and lets the event loop turn between steps (reloads: with
 * 50,000 key files in a `fromDirectory` folder, a synchronous reload blocked the event loop for
 * long enough to starve /healthz; BENCHMARKS.md has the measured reload cost).
 */
import type { AsyncConfigSources, ConfigSources } from './types.js';

/** A read that failed: the error is kept to be described where the file is named (fileReadDefect). */
export class ReadFailure {
  constructor(readonly error: unknown) {}
}

/** A file's text or why it could not be read. Successes are the bare string: 50,000 of them cost no wrapper. */
export type ReadOutcome<T> = T | ReadFailure;

type ReadRequest = { kind: 'files'; paths: readonly string[] } | { kind: 'dir'; path: string } | { kind: 'turn' };

/** A loader step that returns T; what it is sent back depends on the request it yielded. */
export type Steps<T> = Generator<ReadRequest, T, unknown>;

/** Reads files; the outcomes come back in the order of `paths`. */
export function* readFiles(paths: readonly string[]): Steps<ReadOutcome<string>[]> {
  if (paths.length === 0) return [];
  return (yield { kind: 'files', paths }) as ReadOutcome<string>[];
}

/** Lists a directory's entries. */
export function* readDir(path: string): Steps<ReadOutcome<string[]>> {
  return (yield { kind: 'dir', path }) as ReadOutcome<string[]>;
}

/** Lets the event loop turn when run asynchronously (nothing when run synchronously): between slices of long CPU-bound loops. */
export function* turn(): Steps<void> {
  yield { kind: 'turn' };
}

/** How many entries a long loop handles between two turns of the event loop. */
export const ENTRIES_PER_TURN = 1000;

/** The text of an outcome, or the read's error thrown again (for code written around a throwing readFile). */
export function replay(outcome: ReadOutcome<string>): string {
  if (outcome instanceof ReadFailure) throw outcome.error;
  return outcome;
}

function attempt<T>(read: () => T): ReadOutcome<T> {
  try {
    return read();
  } catch (error) {
    return new ReadFailure(error);
  }
}

/** Runs `steps` to the end with synchronous reads. */
export function runSync<T>(steps: Steps<T>, sources: Pick<ConfigSources, 'readFile' | 'readDir'>): T {
  let next = steps.next();
  while (next.done !== true) {
    const request = next.value;
    let answer: unknown;
    if (request.kind === 'files') answer = request.paths.map((path) => attempt(() => sources.readFile(path)));
    else if (request.kind === 'dir') answer = attempt(() => sources.readDir(request.path));
    next = steps.next(answer);
  }
  return next.value;
}

/**
 * Files read at once during a reload. Each holds a file descriptor, so the count stays small next
 * to `ulimit -n` (the connections and the polls need theirs); more would not be faster either,
 * with libuv's four file-system threads.
 */
export const READ_CONCURRENCY = 16;

async function settle<T>(read: () => Promise<T>): Promise<ReadOutcome<T>> {
  try {
    return await read();
  } catch (error) {
    return new ReadFailure(error);
  }
}

/** Reads every path, at most `concurrency` at a time; the outcomes in the order of `paths`. */
async function readAll(
  paths: readonly string[],
  readFile: AsyncConfigSources['readFile'],
  concurrency: number,
): Promise<ReadOutcome<string>[]> {
  const outcomes = new Array<ReadOutcome<string>>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      outcomes[index] = await settle(() => readFile(paths[index] as string));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return outcomes;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `steps` to the end with asynchronous reads, never blocking the event loop on a read. */
export async function runAsync<T>(
  steps: Steps<T>,
  sources: Pick<AsyncConfigSources, 'readFile' | 'readDir'>,
  concurrency = READ_CONCURRENCY,
): Promise<T> {
  let next = steps.next();
  while (next.done !== true) {
    const request = next.value;
    let answer: unknown;
    if (request.kind === 'files') answer = await readAll(request.paths, sources.readFile, concurrency);
    else if (request.kind === 'dir') answer = await settle(() => sources.readDir(request.path));
    else await nextTurn();
    next = steps.next(answer);
  }
  return next.value;
}
