// The layout's rules (docs/architecture.md) and no import cycles, run by
// `npm run lint`; test/unit/lint.test.ts proves that each rule bites.
import fs from 'node:fs';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** src's folders and top-level files, but `except`: the targets of "only X imports Y". */
const allBut = (except) =>
  fs
    .readdirSync('src', { withFileTypes: true })
    .filter((e) => e.name !== except)
    .map((e) => (e.isDirectory() ? `./src/${e.name}` : `./src/${e.name}`));

export default tseslint.config(
  { ignores: ['dist/**', 'docs/**', 'coverage/**', '.kafka/**', 'test/fixtures/spring-service/**', 'node_modules/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      // A runtime cycle makes a module read another's exports before they exist.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // Lines that fit a screen (prettier wraps code; this catches long strings and comments).
      'max-len': ['error', { code: 160, ignoreUrls: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/dag',
              from: './src',
              except: ['./dag', './errors.ts', './protocol/codec.ts'],
              message: 'src/dag is pure: only itself, errors and protocol/codec',
            },
            { target: './src/dag', from: './node_modules', except: ['./@dagrejs/graphlib'], message: 'src/dag is pure: of packages, only graphlib' },
            {
              target: './src/protocol/codec.ts',
              from: './src',
              except: ['./errors.ts', './protocol/codec.ts', './protocol/bytes.ts'],
              message: 'protocol/codec imports only errors and protocol/bytes',
            },
            { target: './src/protocol/bytes.ts', from: './src', except: ['./errors.ts', './protocol/bytes.ts'], message: 'protocol/bytes imports only errors' },
            {
              target: './src/protocol',
              from: ['./src/kafka', './node_modules/kafkajs'],
              message: 'src/protocol owns the wire format and imports no transport',
            },
            {
              target: './src/kafka',
              from: ['./src/calls', './src/reactor', './src/pipeline', './src/telemetry', './src/api', './src/cli', './src/broker'],
              message: 'src/kafka is the adapter: it imports nothing built on it',
            },
            {
              target: './src/calls',
              from: ['./src/reactor', './src/pipeline', './src/api', './src/cli', './src/broker'],
              message: 'src/calls is below the Reactor and the Pipeline',
            },
            {
              target: ['./src/validate.ts', './src/reply-mode.ts', './src/naming.ts', './src/lifecycle.ts', './src/errors.ts'],
              from: './src',
              except: ['./errors.ts'],
              message: 'the leaves import nothing of src but errors',
            },
            { target: allBut('kafka'), from: './node_modules/kafkajs', message: 'only src/kafka imports kafkajs' },
            { target: allBut('cli'), from: './node_modules/commander', message: 'only src/cli imports commander' },
            { target: allBut('telemetry'), from: './node_modules/@opentelemetry', message: 'only src/telemetry imports OpenTelemetry' },
          ],
        },
      ],
    },
  },
);
