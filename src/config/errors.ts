/**
 * Thrown by configuration loading. `problems` holds one line per problem, each naming the
 * variable, flag or field and what is expected. The exporter prints them and exits with code 2.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
