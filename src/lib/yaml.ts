/**
 * The one YAML loader, for the config file and the web config. One policy for both:
 * - YAML aliases (`*name`) are refused outright, not merely capped: they are how "billion laughs"
 *   bombs expand, and neither file has a use for them;
 * - tags that build objects (`!!binary`, `!!set`, `!!timestamp`, …) are not resolved;
 * - duplicate keys are errors;
 * - messages are our own words for the parser's error codes and NEVER quote the source: a wrong
 *   path may name a key file, and yaml's own messages echo tokens (an unknown directive, an
 *   unresolved alias), which printed a plain-text password from a web config.
 * Nesting deeper than the parser's stack is reported as such, not as "too many aliases".
 * Nesting deeper than MAX_NESTING_DEPTH is refused by a linear scan BEFORE parsing: the parser
 * needed 3.8 s of event loop to give up on a 600 KB `accounts: [[[…]]]`.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Document, ErrorCode, LineCounter } from 'yaml';

let library: typeof Yaml | undefined;

/**
 * The yaml package, loaded on the first parse rather than at import: `zexa-exporter healthcheck`
 * runs every 30 s in the container and reads no YAML unless a config file is named, and loading
 * yaml added 7 to 13 MB of RSS to its peak on Node.js 24 (yaml is CommonJS under Node.js, so its
 * import also starts Node.js's CommonJS loader). `require` gives the same module an `import` does.
 */
function yaml(): typeof Yaml {
  library ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return library;
}

const YAML_ERRORS: Partial<Record<ErrorCode, string>> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'bad alias',
  BAD_DIRECTIVE: 'bad directive',
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'anchor and tag in the wrong order',
  BAD_SCALAR_START: 'a plain value cannot start with this character (quote the value)',
  BLOCK_AS_IMPLICIT_KEY: 'nested mappings are not allowed in compact mappings',
  BLOCK_IN_FLOW: 'block collection inside a flow collection',
  DUPLICATE_KEY: 'duplicate key',
  KEY_OVER_1024_CHARS: 'key longer than 1024 characters',
  MISSING_CHAR: 'missing character (a closing quote or bracket, a comma, or a space after ":")',
  MULTILINE_IMPLICIT_KEY: 'a key must be on a single line',
  MULTIPLE_ANCHORS: 'more than one anchor on a node',
  MULTIPLE_TAGS: 'more than one tag on a node',
  NON_STRING_KEY: 'keys must be strings',
  TAB_AS_INDENT: 'tabs are not allowed for indentation',
  TAG_RESOLVE_FAILED: 'unknown tag',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_COLLECTION_TYPE: 'tag does not match the collection type',
};

/**
 * Levels of flow collections (`[`, `{`) or of block indentation a file may nest. A config file
 * needs 4 (accounts, an entry, thresholds); a web config about 5.
 */
const MAX_NESTING_DEPTH = 64;
/** Columns of indentation that mean more than MAX_NESTING_DEPTH block levels at 2 spaces each. */
const MAX_INDENT_COLUMNS = MAX_NESTING_DEPTH * 2;

/**
 * The first place where `text` nests deeper than MAX_NESTING_DEPTH, by flow brackets or by
 * indentation; one pass, no parsing. Quoted scalars and comments are skipped, roughly as YAML
 * reads them: a quote opens a scalar only where a value starts.
 */
function tooDeepAt(text: string): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (c === ' ') {
        indent++;
        if (indent > MAX_INDENT_COLUMNS) return i;
        continue;
      }
      lineStart = false;
    }
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    const before = i === 0 ? ' ' : (text[i - 1] as string);
    if (c === '#' && /\s/.test(before)) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if ((c === '"' || c === "'") && /[\s[{,:]/.test(before)) {
      quote = c;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth > MAX_NESTING_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) {
      depth--;
    }
  }
  return undefined;
}

/** yaml reports a parser stack overflow as RESOURCE_EXHAUSTION, the code it also uses for alias expansion. */
const TOO_DEEP = 'nested too deeply (a structure inside a structure, hundreds of levels down)';

interface YamlProblem {
  line: number;
  col: number;
  /** Safe to print: never holds any of the source. */
  message: string;
}

/**
 * Makes `lineCounter` number lines as if the lines `leftOut` were still there: before the line
 * that starts at `at`, that many line starts are recorded just before it (at `at - 0.5`, between
 * two real offsets), so every offset from `at` on is that many lines further down.
 */
function countLeftOut(lineCounter: LineCounter, leftOut: readonly LinesLeftOut[]): void {
  const add = lineCounter.addNewLine;
  let next = 0;
  lineCounter.addNewLine = (offset) => {
    for (let l = leftOut[next]; l !== undefined && l.at <= offset; l = leftOut[++next])
      for (let i = 0; i < l.lines; i++) add(l.at - 0.5);
    return add(offset);
  };
}

export type YamlLoad =
  { ok: true; value: unknown; doc: Document; lineCounter: LineCounter } | { ok: false; problems: YamlProblem[] };

/**
 * Parses one YAML document into plain values. `what` names the file in the alias message
 * (e.g. "the config file"). An empty document is `undefined`.
 */
export function loadYaml(text: string, what: string, leftOut: readonly LinesLeftOut[] = []): YamlLoad {
  const deepAt = tooDeepAt(text);
  if (deepAt !== undefined) {
    const before = text.slice(0, deepAt);
    const line = before.split('\n').length + leftOut.reduce((sum, l) => sum + (l.at <= deepAt ? l.lines : 0), 0);
    return {
      ok: false,
      problems: [
        {
          line,
          col: deepAt - before.lastIndexOf('\n'),
          message: `invalid YAML: nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`,
        },
      ],
    };
  }
  const { LineCounter, parseDocument, visit } = yaml();
  const lineCounter = new LineCounter();
  if (leftOut.length > 0) countLeftOut(lineCounter, leftOut);
  const doc = parseDocument(text, {
    prettyErrors: false,
    lineCounter,
    uniqueKeys: true,
    strict: true,
    resolveKnownTags: false,
  });
  const at = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);
  const describe = (code: ErrorCode): string => {
    if (code === 'RESOURCE_EXHAUSTION') return TOO_DEEP;
    if (code === 'MULTIPLE_DOCS') return `more than one YAML document (---); ${what} holds one`;
    return YAML_ERRORS[code] ?? code;
  };
  const errors = [...doc.errors, ...doc.warnings];
  // The overflow is reported once per level it unwinds; once, at the outermost, is enough.
  const deepest = errors.filter((e) => e.code === 'RESOURCE_EXHAUSTION').sort((a, b) => a.pos[0] - b.pos[0])[0];
  const parseProblems = [
    ...errors.filter((e) => e.code !== 'RESOURCE_EXHAUSTION'),
    ...(deepest === undefined ? [] : [deepest]),
  ].map((e) => ({
    ...at(e.pos[0]),
    message: `invalid YAML: ${describe(e.code)}`,
  }));
  if (parseProblems.length > 0) return { ok: false, problems: parseProblems };

  let aliases = 0;
  let firstAlias = 0;
  visit(doc, {
    Alias(_key, node) {
      if (aliases === 0) firstAlias = node.range?.[0] ?? 0;
      aliases += 1;
      return visit.SKIP;
    },
  });
  if (aliases > 0) {
    return {
      ok: false,
      problems: [
        {
          ...at(firstAlias),
          message: `YAML aliases (*name) are not allowed in ${what} (${aliases} found); write the values out`,
        },
      ],
    };
  }
  try {
    // maxAliasCount 0: belt and braces, there are no aliases left to expand.
    return { ok: true, value: doc.toJS({ maxAliasCount: 0 }) as unknown, doc, lineCounter };
  } catch (error) {
    // Only a stack overflow is left that can throw here; its text is not ours to print.
    const deep = error instanceof RangeError;
    return {
      ok: false,
      problems: [
        { line: 1, col: 1, message: deep ? `invalid YAML: ${TOO_DEEP}` : 'invalid YAML: the document cannot be read' },
      ],
    };
  }
}

/**
 * The node of `doc` at `path`, or with `key` the key node of that field in the mapping at `path`
 * (where a reader looks for a field): for `file:line` in messages.
 */
export function nodeAt(
  doc: Document,
  path: readonly PropertyKey[],
  key?: string,
): { range?: readonly number[] | null } | undefined {
  const { isMap, isScalar } = yaml();
  const parent: unknown = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (key === undefined) return parent as { range?: readonly number[] | null } | undefined;
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
  return pair?.key as { range?: readonly number[] | null } | undefined;
}

/** A top-level field's key at column 0: a plain name or a quoted one without escapes, then `:`. */
const TOP_LEVEL_KEY = /^([A-Za-z_][\w.-]*|"[^"\\]*"|'[^']*')[ \t]*:(?:[ \t\r]|$)/;
/** The document start marker, alone on its line or before a comment. */
const DOCUMENT_START = /^---[ \t\r]*(?:#.*)?$/;

/** Lines left out of a text before `at` (an offset in what is left), to count in line numbers from there on. */
export interface LinesLeftOut {
  at: number;
  lines: number;
}

/**
 * `text` without the top-level field `field` (its key line and every line of its value), and
 * where lines were left out, so that loadYaml still reports the original line numbers (the
 * parser spends about 650 bytes on each empty line: 13 MB for 10,000 two-line entries, so the
 * lines are left out rather than blanked); undefined when `text` is not plainly a block mapping
 * at column 0, which the caller then parses whole. One pass over the lines, no parsing: for a
 * caller that needs none of that field and should not pay for parsing a large one (the health
 * probe, which needs no account).
 *
 * A line at column 0 must be a comment, a blank line, a `key:` or the one `---` before any
 * content; inside `field` also a `- ` entry (a sequence written at its key's indentation).
 * Anything else there (a flow collection, a `?` key, a directive, a second document, a scalar
 * continued at column 0) means "not sure", and so undefined.
 */
export function withoutTopLevelField(
  text: string,
  field: string,
): { text: string; leftOut: LinesLeftOut[] } | undefined {
  const kept: string[] = [];
  const leftOut: LinesLeftOut[] = [];
  let keptLength = 0;
  let inField = false;
  let content = false;
  /** Lines of the field not yet recorded in `leftOut`. */
  let pending = 0;
  for (let start = 0; ;) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const first = text[start];
    let drop = inField;
    if (start < end && first !== ' ' && first !== '\t' && first !== '\r' && first !== '#') {
      const line = text.slice(start, end);
      if (!content && DOCUMENT_START.test(line)) {
        drop = false;
      } else if (/^-(?:[ \t\r]|$)/.test(line)) {
        if (!inField) return undefined;
      } else {
        const key = TOP_LEVEL_KEY.exec(line)?.[1];
        if (key === undefined) return undefined;
        inField = (key.startsWith('"') || key.startsWith("'") ? key.slice(1, -1) : key) === field;
        drop = inField;
      }
      content = true;
    }
    if (drop) {
      if (newline !== -1) pending += 1;
    } else {
      if (pending > 0) leftOut.push({ at: keptLength, lines: pending });
      pending = 0;
      const piece = text.slice(start, newline === -1 ? end : newline + 1);
      kept.push(piece);
      keptLength += piece.length;
    }
    if (newline === -1) break;
    start = newline + 1;
  }
  // Lines left out at the end need no record: no line after them has a number to keep.
  return { text: kept.join(''), leftOut };
}
