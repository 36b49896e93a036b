// Lint: typescript-eslint's type-checked rules on every TypeScript file (product, tests, bench), with
// the types of tsconfig.test.json. Formatting is Prettier's (make format), so no style rules here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TESTS = ['**/*.test.ts', 'test/**', '**/testing/**'];

const RULES = {
  // What matters most in this server code: a promise nobody awaits or catches, and an async
  // function where a callback's return is ignored (an event listener, a timer): its rejection is lost.
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
  // `async` without `await` is used on purpose: a throw becomes a rejection, the signature says Promise.
  '@typescript-eslint/require-await': 'off',
  // Validators reject control characters on purpose, with a regex that names them.
  'no-control-regex': 'off',
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
};

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', 'coverage/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    // The dashboard (web/) runs in a browser: its own tsconfig (DOM types, JSX), next block.
    ignores: ['web/**'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
    rules: RULES,
  },
  {
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { globals: globals.browser, parserOptions: { project: './web/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: RULES,
  },
  {
    // Tests read replies as `any` (HTTP bodies, log lines) on purpose, and pass methods around
    // (`expect(fake.method)`, a fake built from an interface's methods).
    files: TESTS,
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
);
