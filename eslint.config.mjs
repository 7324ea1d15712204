// ESLint (flat config) with typescript-eslint's recommended rules, plus the project's layering rules
// as import restrictions (test/unit/layering.test.ts checks the same on the sources). Formatting is
// Prettier's (npm run format), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'media/**', 'dist/**', 'node_modules/**', '.cache/**', 'test-artifacts/**', 'sample/.craft/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Node-side code loads onnxruntime-node lazily (a sentence for unserved platforms) and the
      // scripts are CommonJS.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Tests build deliberately malformed data (damaged bundles, hostile messages).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/craft/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'The engine and the CLI never import vscode (design.md).' }],
          patterns: [{ group: ['**/extension/**'], message: 'The engine never imports the extension.' }],
        },
      ],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../src/*', '!../src/protocol'], message: 'The webview imports only src/protocol.ts from src/.' },
            { group: ['fs', 'path', 'child_process', 'os', 'node:*'], message: 'The webview never touches Node.' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.js', 'bin/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
