/** A pino destination that keeps every JSON line, so tests can assert on (and search) logs. */
export interface LogCapture {
  write(line: string): void;
  readonly lines: string[];
  /** Parsed records. */
  records(): Record<string, unknown>[];
  text(): string;
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(line);
    },
    records() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text() {
      return lines.join('');
    },
  };
}
