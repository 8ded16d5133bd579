/**
 * Reading the fields of a decoded web config YAML document the way Go's strict unmarshalling
 * does: each reader takes one field, returns its value or undefined, and adds a problem naming
 * the field when the value has the wrong shape. Absent and null fields are Go's zero value.
 * A value of the wrong type is described by its type, not quoted: a misplaced one may be a secret.
 */

/** The problems found so far; every reader appends to it, so all are reported at once. */
export type Problems = string[];

/** The type of a YAML value in words (`a mapping`, `a list`, `null`, `a number`). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A mapping, or undefined for an absent or null section (as Go's zero value); else a problem. */
export function section(value: unknown, field: string, problems: Problems): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (isMapping(value)) return value;
  problems.push(`${field}: must be a mapping, got ${describe(value)}`);
  return undefined;
}

export function rejectUnknown(
  obj: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  problems: Problems,
): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      problems.push(`${prefix}${key}: unknown field (exporter-toolkit v0.8 knows ${known.join(', ')})`);
    }
  }
}

export function optionalString(
  obj: Record<string, unknown>,
  key: string,
  field: string,
  problems: Problems,
): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    problems.push(`${field}: must be a string, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

export function optionalBoolean(
  obj: Record<string, unknown>,
  key: string,
  field: string,
  problems: Problems,
): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    problems.push(`${field}: must be true or false, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

export function optionalStringList(
  obj: Record<string, unknown>,
  key: string,
  field: string,
  problems: Problems,
): string[] {
  const value = obj[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field}: must be a list of strings, got ${describe(value)}`);
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, i) => {
    if (typeof item === 'string') out.push(item);
    else problems.push(`${field}[${i}]: must be a string, got ${describe(item)}`);
  });
  return out;
}

export function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  field: string,
  problems: Problems,
): T | undefined {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${field}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return undefined;
}
