// @ts-check
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Globals that tie code to one runtime, each with the portable replacement to use in packages/core.
const nonPortableGlobals = [
  ['process', 'take configuration as a parameter'],
  ['Buffer', 'use Uint8Array'],
  ['global', 'use globalThis only outside core'],
  ['require', 'use ES module imports'],
  ['__dirname', 'use import.meta.url outside core'],
  ['setTimeout', 'core has no timers: return data and let the caller schedule'],
  ['setInterval', 'core has no timers: return data and let the caller schedule'],
  ['setImmediate', 'core has no timers'],
  ['window', 'core runs outside browsers too: pass what you need in'],
  ['document', 'core runs outside browsers too: pass what you need in'],
  ['navigator', 'core runs outside browsers too: pass what you need in'],
  ['localStorage', 'stores are adapters passed in by the SDK'],
  ['sessionStorage', 'stores are adapters passed in by the SDK'],
  ['fetch', 'core has no I/O: the SDK or server fetches'],
  ['crypto', 'use the portable implementation in src/crypto'],
  ['TextEncoder', 'use src/encoding (explicit, specified UTF-8)'],
  ['TextDecoder', 'use src/encoding'],
  ['console', 'core does not log: return data, the caller logs'],
  ['performance', 'core has no clock: take now as a parameter'],
].map(([name, fix]) => ({ name, message: `${name} is not portable in packages/core: ${fix}.` }));

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'data/**', 'coverage/**', '.bench-peers/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver': { typescript: { project: './tsconfig.json', conditionNames: ['source', 'import', 'node', 'default'] } },
    },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // The dashboard's browser code (React, checked by packages/dashboard/tsconfig.json).
    files: ['packages/dashboard/src/app/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    settings: {
      'import-x/resolver': { typescript: { project: './packages/dashboard/tsconfig.json', conditionNames: ['source', 'import', 'browser', 'default'] } },
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts', 'packages/core/src/test-support/**'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-globals': ['error', ...nonPortableGlobals],
      'no-restricted-imports': [
        'error',
        {
          paths: ['fs', 'path', 'http', 'https', 'crypto', 'os', 'child_process', 'url', 'util'].map((name) => ({ name, message: 'packages/core is pure and isomorphic: no Node built-ins.' })),
          patterns: [{ group: ['node:*'], message: 'packages/core is pure and isomorphic: no Node built-ins.' }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'core has no clock: take now as a parameter.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core has no clock: take now as a parameter.' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'core is deterministic: no Math.random.' },
      ],
    },
  },
);
