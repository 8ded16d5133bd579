/**
 * The one mapping from a failed file read (an fs error's `code`) to words for a message. Every
 * file the exporter reads (config, key, directory, web config, TLS files) is described with it,
 * so the same failure reads the same everywhere.
 */

/** The `code` of an fs or network error, when it is an identifier (anything else is never put into a message). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
}

/**
 * Why an open failed for lack of file descriptors, when it did: the process's own limit (EMFILE,
 * `ulimit -n`) or the system's table (ENFILE). The same words for a key file and for a socket to
 * the API, so the log names the cause instead of blaming the key or the network.
 */
export function outOfDescriptors(error: unknown): string | undefined {
  const code = errorCode(error);
  if (code === 'EMFILE') return 'the process has too many open files (EMFILE)';
  if (code === 'ENFILE') return 'the system has too many open files (ENFILE)';
  return undefined;
}

function sizeText(bytes: number): string {
  const mib = bytes / 1024 / 1024;
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

/**
 * What is wrong with a file that could not be read, as a predicate: `<file> does not exist`.
 * `EFBIG` and `ENOTREG` come from readFileBounded, which adds `limitBytes` and `fileType`.
 */
export function fileReadDefect(error: unknown): string {
  const code = errorCode(error);
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EFBIG': {
      const limit = (error as { limitBytes?: unknown }).limitBytes;
      return typeof limit === 'number' ? `is larger than ${sizeText(limit)}` : 'is too large';
    }
    case 'ENOTREG': {
      const type = (error as { fileType?: unknown }).fileType;
      return `is ${typeof type === 'string' ? type : 'a special file'}, not a regular file (only regular files are read)`;
    }
    case 'ENOTDIR':
      return 'is not reachable (a part of its path is not a directory)';
    case 'ELOOP':
      return 'is not reachable (too many levels of symbolic links)';
    case 'EMFILE':
    case 'ENFILE':
      return `cannot be opened: ${outOfDescriptors(error) as string}`;
    default:
      return `cannot be read (${code ?? 'read error'})`;
  }
}
