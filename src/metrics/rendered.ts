/**
 * The `/metrics` exposition as rendered: the cached pieces it is made of (HELP/TYPE headers and
 * blocks of accounts' lines, as UTF-8 bytes), joined and gzip-compressed at most once each. gzip
 * runs on libuv's threadpool for scrapes, so the main thread only hands the members over.
 */
import { gzip, gzipSync } from 'node:zlib';

export interface RenderedMetrics {
  /** Decoded on first use (tests, debugging): scrapes are served from `chunks` or `gzip`. */
  readonly text: string;
  /** Total length of `chunks` in bytes. */
  readonly byteLength: number;
  /**
   * The UTF-8 text as the cached buffers it is made of, in order: a block that did not change is
   * the same Buffer from one render to the next. A plain scrape writes them as they are, never
   * joined (a join is ~7 MB copied per render at 10,000 accounts).
   */
  readonly chunks: readonly Buffer[];
  /**
   * gzip of `text`, computed at most once per distinct text: a concatenation of gzip members
   * (valid gzip, RFC 1952 §2.2) of which only those of changed blocks are compressed again.
   * Synchronous (zlib on the main thread); a scrape uses `gzipAsync`.
   */
  gzip(): Buffer;
  /** The same Buffer as `gzip()`, its missing members compressed on libuv's threadpool; shared by concurrent callers. */
  gzipAsync(): Promise<Buffer>;
  /** `chunks` joined into one buffer, at most once (tests and `text`; a scrape writes `chunks`). */
  bytes(): Buffer;
}

/**
 * Blocks rendered per turn of the event loop before a render yields: one block takes ~1 ms on
 * the bench machine, so a full render of 10,000 accounts (~80 blocks of 128, ~7 MB) leaves timers,
 * health probes and poll answers a turn every few milliseconds instead of waiting ~0.5 s.
 */
export const BLOCKS_PER_SLICE = 2;

/** gzip members compressed at once: libuv's threadpool has 4 threads; each member holds ~300 KB of zlib state. */
const GZIP_IN_FLIGHT = 4;

/** A piece of the exposition text with its own gzip member, compressed at most once. */
export interface Piece {
  bytes: Buffer;
  /** The gzip member once made. */
  gzipped: () => Buffer | undefined;
  keep: (member: Buffer) => void;
}

export function piece(bytes: Buffer): Piece {
  let member: Buffer | undefined;
  return { bytes, gzipped: () => member, keep: (m) => (member = m) };
}

/**
 * Compressed pieces are ~1 KB: zlib's output chunk is sized near that (the default 16 KB chunk,
 * one per piece, left ~10 MB of native heap behind after compressing 10,000 accounts' pieces).
 */
const GZIP_OPTIONS = { level: 6, chunkSize: 2048 } as const;

/**
 * gzip members of `pieces` that have none yet, made on libuv's threadpool a few at a time: the
 * main thread only hands them over, so ~600 of them (10,000 accounts) cost it no long task. Each
 * is copied into a buffer of its own size: zlib returns a slice of its output chunk, and ~630
 * kept slices would each pin a whole chunk.
 */
async function compressPieces(pieces: readonly Piece[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pieces.length) {
      const p = pieces[next++] as Piece;
      if (p.gzipped() !== undefined) continue;
      const member = await new Promise<Buffer>((resolve, reject) =>
        gzip(p.bytes, GZIP_OPTIONS, (error, out) => (error === null ? resolve(out) : reject(error))),
      );
      p.keep(Buffer.from(member));
    }
  };
  await Promise.all(Array.from({ length: GZIP_IN_FLIGHT }, worker));
}

/** The same, synchronously (tests and the sync path): blocks the event loop for as long as zlib takes. */
function compressPiecesSync(pieces: readonly Piece[]): void {
  for (const p of pieces) if (p.gzipped() === undefined) p.keep(Buffer.from(gzipSync(p.bytes, GZIP_OPTIONS)));
}

/** A turn of the event loop: timers, I/O and other requests run before the render goes on. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The exposition made of `pieces`, joined and compressed at most once each. */
export function rendered(pieces: readonly Piece[]): RenderedMetrics {
  const chunks = pieces.map((p) => p.bytes);
  const byteLength = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let bytes: Buffer | undefined;
  let gzipped: Buffer | undefined;
  let compressing: Promise<Buffer> | undefined;
  const joined = (): Buffer => (bytes ??= Buffer.concat(chunks, byteLength));
  const members = (): Buffer => (gzipped ??= Buffer.concat(pieces.map((p) => p.gzipped() as Buffer)));
  return {
    get text() {
      return joined().toString('utf8');
    },
    byteLength,
    chunks,
    gzip: () => {
      if (gzipped === undefined) compressPiecesSync(pieces);
      return members();
    },
    gzipAsync: () => {
      if (gzipped !== undefined) return Promise.resolve(gzipped);
      return (compressing ??= compressPieces(pieces).then(() => {
        // A sync gzip() meanwhile may have compressed some: every member is there now.
        compressPiecesSync(pieces);
        return members();
      }));
    },
    bytes: joined,
  };
}

/**
 * Where a block's lines are encoded, reused by every block: each line is written into it as UTF-8
 * and each family's bytes copied out once, with no per-family array or joined string left for the
 * collector (a full render of 10,000 accounts made ~15 MB of such garbage).
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** Appends `text` to the scratch buffer at `offset`, growing it when a line might not fit. */
function writeScratch(text: string, offset: number): number {
  // No UTF-16 code unit takes more than 3 bytes in UTF-8.
  if (offset + text.length * 3 > scratch.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, offset + text.length * 3));
    scratch.copy(grown, 0, 0, offset);
    scratch = grown;
  }
  return offset + scratch.write(text, offset, 'utf8');
}

/** The lines `lineAt(0)` … `lineAt(count - 1)` as UTF-8 bytes in a buffer of their exact size. */
export function encodeLines(count: number, lineAt: (i: number) => string): Buffer {
  let length = 0;
  for (let i = 0; i < count; i++) length = writeScratch(lineAt(i), length);
  const bytes = Buffer.allocUnsafeSlow(length);
  scratch.copy(bytes, 0, 0, length);
  return bytes;
}
