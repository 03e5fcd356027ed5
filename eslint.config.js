// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'dist-scripts/**', '.fuzz-run/**', 'fuzz-crashes/**', 'node_modules/**', 'data/**', 'bench/peers/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-bitwise': 'error',
      eqeqeq: ['error', 'always'],
      'prefer-const': 'error',
    },
  },
  {
    // Byte-level code (hash prefixes, big-endian encodings, UTF-8 checks) may use bitwise
    // operators on values known to be bytes; tree indices and sizes never may.
    files: ['src/util/bytes.ts', 'src/merkle/sha256.ts', 'src/note/**/*.ts', 'test/**/*.ts', 'scripts/fuzz/mutate.ts'],
    rules: { 'no-bitwise': 'off' },
  }
);
