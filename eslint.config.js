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
const NO_FIXED_SLEEP = 'No fixed sleeps in tests: wait for the condition with until()/vi.waitFor, expect.poll or an event.';
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
