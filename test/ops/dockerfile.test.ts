/**
 * The Dockerfile's shape. What its runtime stage runs is rebuilt and run, without a Docker engine,
 * by test/ops/production-install.test.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import { healthcheckCommand, parseDockerfile } from './dockerfile.js';
import { readRepoFile } from './ops-files.js';

const dockerfile = readRepoFile('Dockerfile');
const parsed = parseDockerfile(dockerfile);
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages = instructions.filter((l) => /^FROM\s/i.test(l));
const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

describe('Dockerfile', () => {
  it('is multi-stage: builds with dev dependencies, runs with production ones only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/RUN npm ci(?! --omit=dev)[^\n]*\n(?:.*\n)*RUN npm run build/);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(runtime.some((l) => /^COPY --from=\S+.*\/app\/dist/.test(l))).toBe(true);
    expect(runtime.some((l) => l.startsWith('RUN npm ci') && !l.includes('--omit=dev'))).toBe(false);
  });

  it('uses a Node LTS image pinned by major', () => {
    const image = /ARG NODE_IMAGE=(\S+)/.exec(dockerfile)?.[1];
    expect(image).toMatch(/^node:(2[02468])-[a-z]+-slim$/);
  });

  it('runs as a non-root user', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user!.slice(5).split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  it("exposes 10025, checks health with the exporter's own probe (no curl), and starts dist/main.js", () => {
    expect(runtime).toContain('EXPOSE 10025');
    // What the probe does is tested by running it: test/ops/production-install.test.ts.
    expect(healthcheckCommand(parsed.runtime)).toEqual(['node', 'dist/main.js', 'healthcheck']);
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/main.js"]');
  });

  it('carries OCI labels', () => {
    for (const label of ['title', 'description', 'source', 'licenses', 'version', 'revision']) {
      expect(dockerfile).toContain(`org.opencontainers.image.${label}=`);
    }
  });

  it('copies only files the build context (.dockerignore) lets through', () => {
    const allowed = readRepoFile('.dockerignore')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    const copied = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.replace(/--\S+/g, '').split(/\s+/).slice(1, -1));
    for (const source of copied) {
      expect(allowed, source).toContain(source);
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
  });
});
