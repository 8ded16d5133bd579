/**
 * The size limits of issue 11, measured: no file in src/ over 500 lines, no function over 80.
 * A function is every function declaration, method, constructor, accessor, arrow function and
 * function expression, counted from its first line (signature, decorators excluded) to its last,
 * both included; a nested function counts inside its parent as well as on its own.
 *
 * `npx tsx scripts/check-code-size.ts [dir]` prints the largest file, the longest function and
 * every breach, and exits 1 on a breach. test/unit/scripts/check-code-size.test.ts holds the same contract.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 500;
export const MAX_FUNCTION_LINES = 80;

interface FileSize {
  /** Relative to the measured directory's parent, with `/` separators (e.g. `src/main.ts`). */
  file: string;
  lines: number;
}

export interface FunctionSize {
  file: string;
  /** The function's name, or how it is reached (`parseTls`, `ReloadingWebConfig.current`, `<arrow>`). */
  name: string;
  /** 1-based line where it starts. */
  line: number;
  lines: number;
}

export interface CodeSize {
  files: FileSize[];
  functions: FunctionSize[];
}

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** A file's line count as an editor shows it: a final newline does not start another line. */
function lineCount(text: string): number {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

function functionName(node: ts.FunctionLikeDeclaration): string {
  const own = node.name !== undefined && !ts.isComputedPropertyName(node.name) ? node.name.getText() : undefined;
  if (ts.isConstructorDeclaration(node)) return `${className(node.parent)}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    return ts.isClassLike(node.parent) ? `${className(node.parent)}.${own ?? '<computed>'}` : (own ?? '<computed>');
  }
  if (own !== undefined) return own;
  // An anonymous function takes the name of what it is assigned to, if anything.
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText();
  }
  return ts.isArrowFunction(node) ? '<arrow>' : '<function>';
}

function className(node: ts.Node): string {
  return ts.isClassLike(node) && node.name !== undefined ? node.name.text : '<class>';
}

/** Every function-like node of one source text with its length in lines. */
export function measureFunctions(file: string, text: string): FunctionSize[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source, false)).line;
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      out.push({ file, name: functionName(fn), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Measures every .ts file below `dir` (e.g. the repository's src/). */
export function measureCodeSize(dir: string): CodeSize {
  const base = path.dirname(path.resolve(dir));
  const files: FileSize[] = [];
  const functions: FunctionSize[] = [];
  for (const absolute of typeScriptFiles(path.resolve(dir))) {
    const file = path.relative(base, absolute).split(path.sep).join('/');
    const text = readFileSync(absolute, 'utf8');
    files.push({ file, lines: lineCount(text) });
    functions.push(...measureFunctions(file, text));
  }
  return { files, functions };
}

function largest<T extends { lines: number }>(items: readonly T[]): T | undefined {
  return items.reduce<T | undefined>((max, item) => (max === undefined || item.lines > max.lines ? item : max), undefined);
}

function main(dir: string): number {
  const { files, functions } = measureCodeSize(dir);
  const bigFile = largest(files);
  const longFunction = largest(functions);
  console.log(`${files.length} files, ${functions.length} functions below ${dir}`);
  if (bigFile) console.log(`largest file: ${bigFile.file} (${bigFile.lines} lines; limit ${MAX_FILE_LINES})`);
  if (longFunction) {
    console.log(`longest function: ${longFunction.name} at ${longFunction.file}:${longFunction.line} (${longFunction.lines} lines; limit ${MAX_FUNCTION_LINES})`);
  }
  const breaches = [
    ...files.filter((f) => f.lines > MAX_FILE_LINES).map((f) => `${f.file}: ${f.lines} lines (over ${MAX_FILE_LINES})`),
    ...functions
      .filter((f) => f.lines > MAX_FUNCTION_LINES)
      .map((f) => `${f.file}:${f.line}: ${f.name} is ${f.lines} lines (over ${MAX_FUNCTION_LINES})`),
  ];
  for (const breach of breaches) console.error(breach);
  return breaches.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv[2] ?? 'src');
}
