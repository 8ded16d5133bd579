/**
 * `npm run bench -- --write`: the run's table replaces the one of its Node.js major in
 * BENCHMARKS.md, between `<!-- bench: Node.js N -->` and `<!-- /bench: Node.js N -->`. The file
 * holds one current table per major; earlier runs live in git history. Pure: text in, text out.
 */

export const benchMarkers = (major: number): { begin: string; end: string } => ({
  begin: `<!-- bench: Node.js ${major} -->`,
  end: `<!-- /bench: Node.js ${major} -->`,
});

/**
 * `markdown` with the text between the major's markers replaced by `body`. Throws, naming the
 * markers, when they are missing, repeated or out of order: a table is never appended somewhere
 * a reader would not look, nor are two tables left for one major.
 */
export function replaceBenchSection(markdown: string, major: number, body: string): string {
  const { begin, end } = benchMarkers(major);
  const count = (marker: string): number => markdown.split(marker).length - 1;
  if (count(begin) !== 1 || count(end) !== 1)
    throw new Error(`BENCHMARKS.md must hold the markers "${begin}" and "${end}" exactly once each`);
  const from = markdown.indexOf(begin) + begin.length;
  const to = markdown.indexOf(end);
  if (to < from) throw new Error(`BENCHMARKS.md has "${end}" before "${begin}"`);
  return `${markdown.slice(0, from)}\n\n${body.trim()}\n\n${markdown.slice(to)}`;
}
