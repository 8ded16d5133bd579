/**
 * Where the middlewares and the server take the web config from: a fixed one, or one that
 * follows its file the way exporter-toolkit does. Parsing and reading are in parse.ts.
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../../config/errors.js';
import type { Logger } from '../../lib/logger.js';
import { loadWebConfig, type WebConfig } from './parse.js';

/** Anything the middlewares and the server accept: a fixed config or one that reloads. */
export interface WebConfigSource {
  /** The config to use now; a reloading source may re-read its files first. */
  current(): WebConfig;
  /** Registers a listener for successful reloads (a fixed config never calls it). */
  onReload?(listener: (config: WebConfig) => void): void;
}

export function asSource(config: WebConfig | WebConfigSource): WebConfigSource {
  return 'current' in config ? config : { current: () => config };
}

export interface OpenWebConfigOptions {
  logger: Logger;
  /** Monotonic milliseconds; injected so tests can step time. */
  now?: () => number;
  /** At most one look at the files per this many milliseconds (default 1000). */
  checkIntervalMs?: number;
  /**
   * Told the outcome of every re-read after a change (not of the first load), so a refused web
   * config shows in `zexa_exporter_config_last_reload_successful` like a refused main config.
   */
  onReloadResult?: (ok: boolean) => void;
}

/**
 * A web config that follows its file the way exporter-toolkit does (it re-reads on every request
 * and every new TLS connection), made cheap: at most once per second it stats the config file and
 * the certificate, key and CA files, and re-reads only when one of them changed. A broken new
 * version is logged once and the last good config stays in force. Switching TLS on or off needs a
 * restart (the listener is already plain or TLS), so such a change is refused the same way.
 */
export class ReloadingWebConfig implements WebConfigSource {
  readonly file: string;
  private config: WebConfig;
  private fingerprint: string;
  private lastCheck: number;
  private readonly listeners: ((config: WebConfig) => void)[] = [];
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly checkIntervalMs: number;
  private readonly onReloadResult: ((ok: boolean) => void) | undefined;

  /** Throws ConfigError when the file is unusable at start. */
  constructor(file: string, options: OpenWebConfigOptions) {
    this.file = file;
    this.logger = options.logger;
    this.now = options.now ?? (() => performance.now());
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.onReloadResult = options.onReloadResult;
    this.config = loadWebConfig(file);
    this.fingerprint = this.computeFingerprint(this.config);
    this.lastCheck = this.now();
  }

  current(): WebConfig {
    const now = this.now();
    if (now - this.lastCheck >= this.checkIntervalMs) {
      this.lastCheck = now;
      this.reloadIfChanged();
    }
    return this.config;
  }

  onReload(listener: (config: WebConfig) => void): void {
    this.listeners.push(listener);
  }

  private computeFingerprint(config: WebConfig): string {
    const files = [this.file, config.tls?.certFile, config.tls?.keyFile, config.tls?.clientCaFile];
    return files
      .map((f) => {
        if (f === undefined) return '-';
        try {
          const s = statSync(f);
          return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }

  private reloadIfChanged(): void {
    const seen = this.computeFingerprint(this.config);
    if (seen === this.fingerprint) return;
    // Remembered even on failure, so a broken file is logged once, not once a second.
    this.fingerprint = seen;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.file);
      if ((next.tls === undefined) !== (this.config.tls === undefined)) {
        throw new ConfigError([
          `web config file ${this.file}: switching TLS ${next.tls === undefined ? 'off' : 'on'} needs a restart`,
        ]);
      }
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      this.logger.error({ file: this.file, problems }, 'web config reload failed; keeping the previous one');
      this.onReloadResult?.(false);
      return;
    }
    this.config = next;
    // The new config may name other certificate files: watch those from now on.
    this.fingerprint = this.computeFingerprint(next);
    this.logger.info(
      { file: this.file, tls: next.tls !== undefined, users: next.basicAuthUsers.size },
      'web config reloaded',
    );
    for (const listener of this.listeners) listener(next);
    this.onReloadResult?.(true);
  }
}

/** Loads the web config and follows later changes of it; see ReloadingWebConfig. */
export function openWebConfig(file: string, options: OpenWebConfigOptions): ReloadingWebConfig {
  return new ReloadingWebConfig(file, options);
}
