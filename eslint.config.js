// Layer boundaries (../shared/STYLE.md): a boundary is a failing lint, not a convention.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';
import reactHooks from 'eslint-plugin-react-hooks';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noNode = { group: ['node:*'], message: 'this layer runs outside Node: no node:* modules' };
const noElectron = { name: 'electron', message: 'only electron/main and electron/preload may import electron' };
const noElectronStore = { name: 'electron-store', message: 'electron-store belongs to electron/main' };
const noReact = { group: ['react', 'react-dom', 'react/*', '@mantine/*', '@tanstack/*'], message: 'UI libraries belong to renderer/' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.tools/**', 'docs/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { import: importPlugin },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './shared', from: ['./electron', './renderer', './test', './bench'], message: 'shared/ is pure and imports only shared/' },
            { target: './electron/core', from: ['./electron/main', './electron/preload', './renderer'], message: 'the core runs in plain Node: no shell, preload or UI code' },
            { target: './electron/cli', from: ['./electron/main', './electron/preload', './renderer'], message: 'the CLI runs in plain Node' },
            { target: './electron/main', from: ['./renderer', './electron/preload'], message: 'main does not import renderer or preload code' },
            { target: './renderer', from: ['./electron', './test', './bench'], message: 'the renderer reaches main only through the IPC contract in shared/' },
            {
              target: './electron/preload',
              from: ['./shared', './electron/core', './electron/main', './renderer'],
              except: ['./ipc/channels.ts'],
              message: 'the preload may import electron and the channel list only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron, noElectronStore, ...nodeBuiltins.map((name) => ({ name, message: 'shared/ runs anywhere: no Node built-ins' }))], patterns: [noNode, noReact] }],
    },
  },
  {
    files: ['electron/core/**/*.ts', 'electron/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron, noElectronStore], patterns: [noReact] }],
    },
  },
  {
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [...nodeBuiltins.map((name) => ({ name, message: 'a sandboxed preload has no Node built-ins' }))], patterns: [noNode, noReact, { group: ['zod', 'jose', '@peculiar/*', 'yaml'], message: 'the preload bundles nothing but the channel list' }] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      // The classic hook rules; the React Compiler's purity rules are for compiled code.
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'no-restricted-imports': ['error', { paths: [noElectron, noElectronStore, ...nodeBuiltins.map((name) => ({ name, message: 'the renderer never touches Node or the file system' }))], patterns: [noNode] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'tests run in plain Node: never import electron' }] }],
    },
  },
);
