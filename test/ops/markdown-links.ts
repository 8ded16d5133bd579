/**
 * The relative links of the project's Markdown pages, and the anchors GitHub gives their
 * headings, so that a moved section or a renamed heading fails a test instead of leaving a reader
 * (or an alert's runbook_url) at the top of the wrong page.
 */
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** Links to this repository on GitHub are checked like relative ones. */
export const REPO_URL = 'https://github.com/zexa-exporter/zexa-exporter/blob/main/';

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Each line outside fenced code blocks, with its 1-based number. */
function proseLines(markdown: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const marker = /^\s*(```|~~~)/.exec(text)?.[1];
    if (marker !== undefined && (fence === undefined || fence === marker)) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ text, line: i + 1 });
  });
  return out;
}

/** The anchors of a page: one per heading (a repeated heading gets `-1`, `-2`, ...) and explicit `<a id>`s. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      out.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  }
  return out;
}

/** Inline links and images, and reference definitions, outside code. */
export function links(file: string, markdown: string): Link[] {
  const out: Link[] = [];
  for (const { text, line } of proseLines(markdown)) {
    const prose = text.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ file, line, target: m[1]! });
    const definition = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(prose)?.[1];
    if (definition !== undefined) out.push({ file, line, target: definition });
  }
  return out;
}

/**
 * Why a link leads nowhere, or undefined when it resolves. Links outside this repository are not
 * followed; a GitHub link into it is checked as the repository path it names.
 */
export function deadLink(link: Link, root: string, read: (path: string) => string): string | undefined {
  let target = link.target;
  let base = dirname(link.file);
  if (target.startsWith(REPO_URL)) {
    target = target.slice(REPO_URL.length);
    base = '.';
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return undefined;
  }
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? link.file : normalize(join(base, path));
  if (file.startsWith('..')) return `${file} is outside the repository`;
  if (!existsSync(join(root, file))) return `no file ${file}`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md')) return `anchor #${anchor} on ${file}, which is not Markdown`;
  return anchors(read(file)).has(anchor) ? undefined : `no heading with anchor #${anchor} in ${file}`;
}
