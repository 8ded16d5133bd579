/**
 * The documentation holds together: every relative link and anchor of the README, docs/,
 * DEVELOPERS.md, BENCHMARKS.md and CHANGELOG.md leads somewhere, and every alert's runbook_url
 * (in the Prometheus rules and in the Grafana and Kubernetes copies made from them) opens that
 * alert's own heading of docs/runbook.md, which is where an operator paged at night lands.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/prometheus-stack.js';
import { anchors, deadLink, links, REPO_URL, slug } from './markdown-links.js';
import { readRepoFile } from './ops-files.js';

const PAGES = [
  'README.md',
  'DEVELOPERS.md',
  'BENCHMARKS.md',
  'CHANGELOG.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const RUNBOOK = 'docs/runbook.md';

interface Rule {
  alert?: string;
  title?: string;
  annotations?: { runbook_url?: string };
}
interface Groups {
  groups: { rules: Rule[] }[];
}

/** Every alerting rule of a file, by its alert name (Grafana calls it `title`). */
function alertRules(path: string): { name: string; runbookUrl: string | undefined }[] {
  const doc = parse(readRepoFile(path)) as Groups | { spec: Groups };
  const groups = 'spec' in doc ? doc.spec.groups : doc.groups;
  return groups.flatMap((g) =>
    g.rules
      .filter((r) => r.alert !== undefined || r.title !== undefined)
      .map((r) => ({ name: (r.alert ?? r.title)!, runbookUrl: r.annotations?.runbook_url })),
  );
}

describe('GitHub heading anchors', () => {
  it('drop punctuation and code marks, keep letters, digits, hyphens and underscores', () => {
    expect(slug('ZexaCreditsLow')).toBe('zexacreditslow');
    expect(slug('Protecting /metrics')).toBe('protecting-metrics');
    expect(slug('Alerts: labels, rollouts, HA pairs and shards')).toBe('alerts-labels-rollouts-ha-pairs-and-shards');
    expect(slug('CI: `.ci/run` on Node.js 20, 22 and 24')).toBe('ci-cirun-on-nodejs-20-22-and-24');
    expect(slug('The `zexa_up` [gauge](metrics.md)')).toBe('the-zexa_up-gauge');
  });

  it('number a repeated heading and ignore headings in code blocks', () => {
    const page = '# Page\n## Deploy\n```sh\n# not a heading\n```\n## Deploy\n<a id="kept"></a>\n';
    expect([...anchors(page)]).toEqual(['page', 'deploy', 'deploy-1', 'kept']);
  });
});

describe('the link checker', () => {
  const root = mkdtempSync(join(tmpdir(), 'zexa-docs-links-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'docs'));
  const files: Record<string, string> = {
    'README.md': '# Front\n[ok](docs/a.md#two) [gone](docs/none.md) [bad anchor](docs/a.md#three) [here](#front)\n',
    'docs/a.md':
      '# One\n## Two\n[up](../README.md#front) [out](../../x.md) `[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n',
  };
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  const read = (path: string): string => readFileSync(join(root, path), 'utf8');
  const verdicts = Object.entries(files).flatMap(([file, text]) =>
    links(file, text).map((l) => [l.target, deadLink(l, root, read)]),
  );

  it('finds dead files, dead anchors and paths outside the repository, and skips code', () => {
    expect(verdicts).toEqual([
      ['docs/a.md#two', undefined],
      ['docs/none.md', 'no file docs/none.md'],
      ['docs/a.md#three', 'no heading with anchor #three in docs/a.md'],
      ['#front', undefined],
      ['../README.md#front', undefined],
      ['../../x.md', '../x.md is outside the repository'],
    ]);
  });

  it('checks a GitHub link into this repository as the path it names, and leaves other URLs alone', () => {
    const check = (target: string): string | undefined => deadLink({ file: 'docs/a.md', line: 1, target }, root, read);
    expect(check(`${REPO_URL}docs/a.md#two`)).toBeUndefined();
    expect(check(`${REPO_URL}README.md#two`)).toBe('no heading with anchor #two in README.md');
    expect(check('https://prometheus.io/docs/#nowhere')).toBeUndefined();
  });
});

describe('the documentation', () => {
  it.each(PAGES)('%s: every relative link and anchor resolves', (page) => {
    const dead = links(page, readRepoFile(page))
      .map((link) => ({ link, why: deadLink(link, REPO_ROOT, readRepoFile) }))
      .filter(({ why }) => why !== undefined)
      .map(({ link, why }) => `${link.file}:${link.line}: ${link.target}: ${why}`);
    expect(dead).toEqual([]);
  });

  it('the README stays a front door of at most 300 lines', () => {
    expect(readRepoFile('README.md').trimEnd().split('\n').length).toBeLessThanOrEqual(300);
  });
});

describe.each([
  'prometheus/alerts.yml',
  'grafana/provisioning/alerting/zexa-alerts.yaml',
  'deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml',
])('runbook_url in %s', (path) => {
  const rules = alertRules(path);
  const headings = anchors(readRepoFile(RUNBOOK));

  it('has alert rules', () => {
    expect(rules.length).toBeGreaterThan(0);
  });

  it.each(rules.map((r) => [r.name, r.runbookUrl]))('%s links its own heading of docs/runbook.md', (name, url) => {
    expect(url).toBe(`${REPO_URL}${RUNBOOK}#${name.toLowerCase()}`);
    expect(headings, `${RUNBOOK} has no "## ${name}"`).toContain(name.toLowerCase());
  });
});
