/**
 * The one way the exporter reads a file (config, key, fromDirectory entry, web config, TLS
 * certificate, key and CA). Three rules, in this order:
 * 1. open with O_NONBLOCK, so a FIFO opens at once instead of waiting for a writer (a blocking
 *    open of a FIFO froze the whole process);
 * 2. fstat the open descriptor and refuse anything but a regular file (FIFOs, devices such as
 *    /dev/zero, sockets) and any file larger than the cap, before reading a byte;
 * 3. read at most cap + 1 bytes, for a file that grows while it is read.
 *
 * The synchronous form serves start-up and the pure config loader; the asynchronous form serves
 * everything at runtime (poll-time key reads, reloads), so no read ever blocks the event loop.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** Config, key, web config and TLS files larger than this are refused before they are read whole. */
export const FILE_CAP_BYTES = 1024 * 1024;

// O_NOCTTY: opening a terminal device must never make it the controlling terminal.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function fsError(code: string, path: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code, path, ...extra });
}

function fileType(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

/** Throws unless `stat` is a regular file within the cap. Directories keep EISDIR, as fs reports them. */
function checkStat(stat: Stats, path: string, maxBytes: number): void {
  if (stat.isDirectory()) throw fsError('EISDIR', path);
  if (!stat.isFile()) throw fsError('ENOTREG', path, { fileType: fileType(stat) });
  if (stat.size > maxBytes) throw fsError('EFBIG', path, { limitBytes: maxBytes });
}

/**
 * First read buffer: the file's size plus one byte (to see growth), at most the cap + 1. At least
 * 1 KiB, because /proc files say 0; below 4 KiB Buffer.allocUnsafe slices Node's shared pool, so
 * a key read at every poll costs no native allocation of its own (thousands of those, freed only
 * by a full GC, showed in RSS at 10,000 accounts).
 */
function firstSize(stat: Stats, maxBytes: number): number {
  return Math.min(maxBytes + 1, Math.max(stat.size + 1, 1024));
}

/** Fills `buffer`, growing it up to maxBytes + 1; EFBIG when more than maxBytes arrive. */
function grow(buffer: Buffer, filled: number, path: string, maxBytes: number): Buffer {
  if (filled > maxBytes) throw fsError('EFBIG', path, { limitBytes: maxBytes });
  const next = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2));
  buffer.copy(next, 0, 0, filled);
  return next;
}

/** Reads a regular file of at most `maxBytes` synchronously; never blocks on a FIFO. */
export function readBytesBounded(path: string, maxBytes = FILE_CAP_BYTES): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stat = fstatSync(fd);
    checkStat(stat, path, maxBytes);
    let buffer: Buffer = Buffer.allocUnsafe(firstSize(stat, maxBytes));
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) buffer = grow(buffer, filled, path, maxBytes);
      const read = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (read === 0) break;
      filled += read;
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** Reads a regular file of at most `maxBytes` without blocking the event loop. */
async function readBytesBoundedAsync(path: string, maxBytes = FILE_CAP_BYTES): Promise<Buffer> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stat = await handle.stat();
    checkStat(stat, path, maxBytes);
    let buffer: Buffer = Buffer.allocUnsafe(firstSize(stat, maxBytes));
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) buffer = grow(buffer, filled, path, maxBytes);
      const { bytesRead } = await handle.read({
        buffer,
        offset: filled,
        length: buffer.length - filled,
        position: null,
      });
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** readBytesBounded as UTF-8 text. */
export function readFileBounded(path: string, maxBytes = FILE_CAP_BYTES): string {
  return readBytesBounded(path, maxBytes).toString('utf8');
}

/** readBytesBoundedAsync as UTF-8 text. */
export async function readFileBoundedAsync(path: string, maxBytes = FILE_CAP_BYTES): Promise<string> {
  return (await readBytesBoundedAsync(path, maxBytes)).toString('utf8');
}
