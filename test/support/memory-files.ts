/**
 * In-memory files for the configuration loader: `readFile` answers from `files`, anything else
 * (and every directory) is missing, as fs would say it (ENOENT).
 */
import type { ConfigSources } from '../../src/config/types.js';

function missing(path: string): Error {
  return Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
}

export function memoryFiles(files: Readonly<Record<string, string>>): Pick<ConfigSources, 'readFile' | 'readDir'> {
  return {
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw missing(path);
      return text;
    },
    readDir: (path) => {
      throw missing(path);
    },
  };
}
