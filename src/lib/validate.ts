/**
 * Small structural validators for plain data (a parsed YAML document), in place of a schema
 * library: zod 4 cost 18 MB of RSS at import on Node.js 24 (BENCHMARKS.md, "Where the memory
 * goes"), more than the rest of the config loader together.
 *
 * A validator checks a value, pushes one Issue per problem at the path it was found, and returns
 * what it made of the value. A mapping's fields are checked in the shape's order, and its unknown
 * fields are reported after them, so that problem lines come in the order of the settings table.
 */

/** Where a value is: mapping keys and list indexes from the document's root. */
type Path = readonly (string | number)[];

/** One problem of a value. `custom` is a value's own (its parser's) message. */
export type Issue =
  | { code: 'custom'; path: Path; message: string }
  | { code: 'invalid_type'; path: Path; expected: 'mapping' | 'list' }
  | { code: 'unrecognized_keys'; path: Path; keys: readonly string[] };

/**
 * What a validator made of a value. `ok: false` when a problem leaves nothing usable: then the
 * checks of the mapping around it (its `refine`) do not run. An unknown field is reported but
 * leaves the mapping usable.
 */
type Outcome<T> = { ok: true; value: T } | { ok: false };

export type Validator<T> = (raw: unknown, path: Path, issues: Issue[]) => Outcome<T>;

/** A mapping's fields, each optional: an absent field is left out of the result. */
export type Shape = Readonly<Record<string, Validator<unknown>>>;

/** The message of what a parser threw, or `fallback` for a throw that is not an Error. */
export function problemMessage(error: unknown, fallback: string): string {
  return error instanceof Error ? error.message : fallback;
}

/** A value turned by `parse`; what it throws becomes the issue's message. */
export function parsed<T>(parse: (raw: unknown) => T, fallback: string): Validator<T> {
  return (raw, path, issues) => {
    try {
      return { ok: true, value: parse(raw) };
    } catch (error) {
      issues.push({ code: 'custom', path, message: problemMessage(error, fallback) });
      return { ok: false };
    }
  };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A mapping with only the fields of `shape`. `refine` checks the fields together once each was
 * valid, and reports through `problem` (at the mapping's path).
 */
export function mapping(
  shape: Shape,
  refine?: (value: Record<string, unknown>, problem: (message: string) => void) => void,
): Validator<Record<string, unknown>> {
  return (raw, path, issues) => {
    if (!isMapping(raw)) {
      issues.push({ code: 'invalid_type', path, expected: 'mapping' });
      return { ok: false };
    }
    const value: Record<string, unknown> = {};
    let ok = true;
    for (const [key, field] of Object.entries(shape)) {
      if (raw[key] === undefined) continue;
      const outcome = field(raw[key], [...path, key], issues);
      if (outcome.ok) value[key] = outcome.value;
      else ok = false;
    }
    const unknown = Object.keys(raw).filter((key) => !Object.hasOwn(shape, key));
    if (unknown.length > 0) issues.push({ code: 'unrecognized_keys', path, keys: unknown });
    if (!ok) return { ok: false };
    refine?.(value, (message) => issues.push({ code: 'custom', path, message }));
    return { ok: true, value };
  };
}

/** A list whose every entry `entry` checks. */
export function list<T>(entry: Validator<T>): Validator<T[]> {
  return (raw, path, issues) => {
    if (!Array.isArray(raw)) {
      issues.push({ code: 'invalid_type', path, expected: 'list' });
      return { ok: false };
    }
    const value: T[] = [];
    let ok = true;
    for (const [i, item] of (raw as unknown[]).entries()) {
      const outcome = entry(item, [...path, i], issues);
      if (outcome.ok) value.push(outcome.value);
      else ok = false;
    }
    return ok ? { ok: true, value } : { ok: false };
  };
}
