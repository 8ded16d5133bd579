/**
 * The Dockerfile read the way `docker build` reads it, for the tests that check its shape and the
 * ones that run what it runs: line continuations joined, comments dropped, instructions grouped
 * by stage, exec-form (JSON) commands parsed. Only the subset this Dockerfile uses.
 */
import { readRepoFile } from './ops-files.js';

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ENV, HEALTHCHECK, ... */
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
}

export interface Stage {
  /** The `AS name`, or undefined for an unnamed stage (the runtime stage here). */
  name: string | undefined;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  text: string;
  /** Instructions before the first FROM (ARG). */
  preamble: Instruction[];
  stages: Stage[];
  /** The last stage: what `docker run` runs. */
  runtime: Stage;
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (match === null) throw new Error(`Dockerfile: cannot read the line ${JSON.stringify(line)}`);
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') {
      stages.push({ name: / AS (\S+)$/i.exec(instruction.args)?.[1], instructions: [instruction] });
    } else if (stages.length === 0) {
      preamble.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return { text, preamble, stages, runtime: stages.at(-1)! };
}

export function loadDockerfile(): ParsedDockerfile {
  return parseDockerfile(readRepoFile('Dockerfile'));
}

export function stageNamed(d: ParsedDockerfile, name: string): Stage {
  const stage = d.stages.find((s) => s.name === name);
  if (stage === undefined) throw new Error(`Dockerfile: no stage named ${name}`);
  return stage;
}

export function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** An exec-form command (`["node", "dist/main.js"]`); shell form is refused, the image has no need for one. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`not an exec-form command: ${args}`);
  }
  return parsed as string[];
}

/** The HEALTHCHECK's command: the JSON after `CMD`, options before it ignored. */
export function healthcheckCommand(stage: Stage): string[] {
  const healthcheck = all(stage, 'HEALTHCHECK').at(-1);
  if (healthcheck === undefined) throw new Error('Dockerfile: the runtime stage has no HEALTHCHECK');
  const cmd = /(?:^|\s)CMD\s+(\[.*\])$/.exec(healthcheck.args);
  if (cmd === null) throw new Error(`Dockerfile: HEALTHCHECK without an exec-form CMD: ${healthcheck.args}`);
  return execForm(cmd[1]!);
}

/** `ENV A=b C=d` of a stage, in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of all(stage, 'ENV')) {
    for (const pair of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g))
      env[pair[1]!] = pair[2]!.replace(/^"(.*)"$/, '$1');
  }
  return env;
}

export interface Copy {
  from: string | undefined;
  chown: string | undefined;
  sources: string[];
  destination: string;
}

export function copies(stage: Stage): Copy[] {
  return all(stage, 'COPY').map(({ args }) => {
    const words = args.split(' ');
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--'));
    const flag = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
    return { from: flag('from'), chown: flag('chown'), sources: paths.slice(0, -1), destination: paths.at(-1)! };
  });
}

/**
 * The demo command from the header comment (`docker run ... --entrypoint node zexa-exporter
 * dist/demo.js`): the entry point followed by the arguments after the image name.
 */
export function demoCommand(text: string): string[] {
  const match = /^#.*docker run .*--entrypoint (\S+) zexa-exporter (.+)$/m.exec(text);
  if (match === null)
    throw new Error('Dockerfile: no `docker run ... --entrypoint ... zexa-exporter ...` demo comment');
  return [match[1]!, ...match[2]!.trim().split(/\s+/)];
}
