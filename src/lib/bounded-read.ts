/**
 * The one way the exporter reads a file: bounded in size, so a path that names /dev/zero or a
 * multi-gigabyte file fails fast instead of filling memory.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Config, key, web config and TLS files larger than this are refused before they are read whole. */
export const FILE_CAP_BYTES = 1024 * 1024;

function fsError(code: string, path: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code, path, ...extra });
}

/**
 * Reads a file as UTF-8, refusing more than FILE_CAP_BYTES before reading it all: a config
 * or key path that names /dev/zero or a multi-gigabyte file fails fast instead of filling memory.
 */
export function readFileBounded(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw fsError('EISDIR', path);
    if (stat.isFile() && stat.size > FILE_CAP_BYTES) throw fsError('EFBIG', path, { limitBytes: FILE_CAP_BYTES });
    // Every poll reads its key file: reading into one reused buffer allocates nothing but the
    // string, where a fresh Buffer per read left thousands of small native allocations behind
    // (~4 KB each, freed only by a full GC). Reads are synchronous, so the buffer is never shared.
    const buffer = (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
    const full: Buffer[] = [];
    let filled = 0;
    let total = 0;
    for (;;) {
      if (filled === buffer.length) {
        full.push(Buffer.from(buffer));
        filled = 0;
      }
      const read = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (read === 0) break;
      filled += read;
      total += read;
      // The loop still stops at the limit for devices, pipes and files that grow while read.
      if (total > FILE_CAP_BYTES) throw fsError('EFBIG', path, { limitBytes: FILE_CAP_BYTES });
    }
    if (full.length === 0) return buffer.toString('utf8', 0, filled);
    return Buffer.concat([...full, buffer.subarray(0, filled)], total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Size of readFileBounded's reused read buffer: key files are far smaller, config files usually. */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | undefined;
