// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * A test waits for a condition (vi.waitFor, expect.poll, an event), never for a fixed time: a
 * sleep is too short on a busy machine and too long on an idle one (test/support/wait.ts).
 * These selectors find the ways a fixed sleep is written: a timer that resolves a promise, an
 * awaited promise around a timer, and the timer promises of node:timers/promises.
 *
 * The one sanctioned exception is a server that must answer late on purpose (a slow API, a
 * response that trickles): it schedules its own reply with a plain `setTimeout(() => res.end(…))`,
 * which none of these selectors matches, because nothing in the test waits on it.
 */
const NO_FIXED_SLEEP =
  'No fixed sleeps in tests: wait for the condition with until()/vi.waitFor, expect.poll or an event.';
const fixedSleeps = {
  selector: [
    'CallExpression[callee.name="setTimeout"]:matches(',
    // new Promise((resolve) => setTimeout(resolve, 300))
    'NewExpression[callee.name="Promise"] CallExpression[arguments.0.type="Identifier"],',
    // await new Promise((resolve) => setTimeout(() => resolve(), 300))
    'AwaitExpression > NewExpression[callee.name="Promise"] CallExpression',
    ')',
  ].join(''),
  message: NO_FIXED_SLEEP,
};
const timerPromises = ['node:timers/promises', 'timers/promises'].map((name) => ({ name, message: NO_FIXED_SLEEP }));

/**
 * Which folder of src/ may import which: imports flow one way, from the API call and the
 * configuration up to the running exporter. A folder absent from a row is out of bounds for it,
 * a type included (`import type` counts, and so does `export … from`): a lower layer that needs
 * a type of a higher one is a sign the type lives in the wrong place. Files in the same folder
 * import each other freely. The root's main.ts and demo.ts import anything and are imported by
 * nothing; version.ts is named in the rows that may read it.
 */
const LAYERS = {
  lib: [],
  zexa: ['lib'],
  config: ['lib', 'zexa'],
  state: ['lib', 'zexa', 'config'],
  poll: ['lib', 'zexa', 'config', 'state'],
  metrics: ['lib', 'zexa', 'config', 'state'],
  views: ['lib', 'zexa', 'config', 'state'],
  'http/web-config': ['lib', 'zexa', 'config'],
  http: ['lib', 'zexa', 'config', 'state', 'metrics', 'views', 'http/web-config'],
  runtime: ['lib', 'zexa', 'config', 'state', 'poll', 'metrics', 'views', 'http', 'http/web-config', 'version.ts'],
  check: ['lib', 'zexa', 'config', 'state', 'poll', 'metrics', 'runtime', 'version.ts'],
  simulator: ['lib'],
};
const ROOT_FILES = ['main.ts', 'demo.ts', 'version.ts'];

/**
 * The regular expression for the relative specifiers that reach `target` (a folder or a root file)
 * from a file of `folder`. From http/web-config/, `../x.js` is a file of http/ itself.
 */
function reaching(folder, target, allowed) {
  const up = '\\.\\./'.repeat(folder.split('/').length);
  if (target.endsWith('.ts')) return `^${up}${target.slice(0, -3)}\\.js$`;
  if (target === 'http' && folder === 'http/web-config') return `^\\.\\./[^/]+$|^${up}http/(?!web-config/)`;
  if (target === 'http' && allowed.has('http/web-config')) return `^${up}http/(?!web-config/)`;
  return `^${up}${target}(/|$)`;
}

/** One block per folder: `no-restricted-imports` with a pattern for every folder and root file its row leaves out. */
function layerRules() {
  const folders = Object.keys(LAYERS);
  return folders.map((folder) => {
    const allowed = new Set([folder, ...LAYERS[folder]]);
    const message = `src/${folder}/ may import only ${LAYERS[folder].join(', ') || 'itself'}: see the layer table in eslint.config.js.`;
    const patterns = [...folders, ...ROOT_FILES]
      .filter((target) => !allowed.has(target))
      // A folder that may not import http/ is kept out of http/web-config/ by the http/ pattern.
      .filter((target) => !(target === 'http/web-config' && !allowed.has('http')))
      .map((target) => ({ regex: reaching(folder, target, allowed), message }));
    // typescript-eslint's form of the rule: `import type` and `export … from` count as imports.
    const rule = ['error', { patterns }];
    return {
      files: [folder === 'http' ? 'src/http/*.ts' : `src/${folder}/**/*.ts`],
      rules: { '@typescript-eslint/no-restricted-imports': rule },
    };
  });
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The product code is also checked with type information.
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  ...layerRules(),
  {
    // Size limits of the product code: a file over 500 lines or a function over 80 is several
    // pieces. Every line counts, blank and comment lines included; a function is measured from
    // its first line to its last, and a nested one counts inside its parent as well.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', fixedSleeps],
      'no-restricted-imports': ['error', { paths: timerPromises }],
    },
  },
  {
    // Only the demo and the command-line scripts talk to a person on the terminal.
    files: ['src/demo.ts', 'bench/**', 'scripts/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
