// Lint: typescript-eslint's recommended rules over the TypeScript sources (formatting is prettier's job).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.ticketflow/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      // Deep requires of natural's untyped modules: the package root loads database clients.
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The /ui script compiles to one classic script: an import or export would make it a module.
    files: ['producers/api/ui/browser/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'ImportDeclaration, ExportNamedDeclaration, ExportDefaultDeclaration, ExportAllDeclaration',
          message: 'the /ui script is one classic script: no import or export (the page carries server data)',
        },
      ],
    },
  },
);
