// Lint rules, chiefly the layering of DESIGN.md: shared imports no workspace package; coordinator and
// client-sdk never import each other (nor their own barrel); only client-sdk and scripts touch TensorFlow.js.
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
});

const tfjs = { group: ['@tensorflow/*'], message: 'TensorFlow.js belongs to client-sdk (TrainableModel) and scripts only.' };

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.cache/**', 'data/**', 'out/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Library code logs through the Logger it is given (shared/src/log.ts); only the CLIs print.
    files: ['shared/src/**/*.ts', 'client-sdk/src/**/*.ts', 'coordinator/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'coordinator/src/cli.ts', 'coordinator/src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['shared/**/*.ts'],
    rules: restrict([
      { group: ['@fedwarden/*'], message: 'shared imports nothing from the workspace.' },
      tfjs,
    ]),
  },
  {
    files: ['coordinator/**/*.ts'],
    rules: restrict([
      { group: ['@fedwarden/client', '@fedwarden/client/*'], message: 'coordinator never imports the client SDK.' },
      { group: ['@fedwarden/coordinator', '@fedwarden/coordinator/*'], message: 'import own modules relatively, not through the barrel.' },
      { group: ['../../client-sdk/*', '../../scripts/*', '../../test/*'], message: 'no reaching into other packages.' },
      tfjs,
    ]),
  },
  {
    files: ['client-sdk/**/*.ts'],
    rules: restrict([
      { group: ['@fedwarden/coordinator', '@fedwarden/coordinator/*'], message: 'client-sdk never imports the coordinator.' },
      { group: ['@fedwarden/client', '@fedwarden/client/*'], message: 'import own modules relatively, not through the barrel.' },
      { group: ['../../coordinator/*', '../../scripts/*', '../../test/*'], message: 'no reaching into other packages.' },
    ]),
  },
);
