/**
 * The lint holds the layout (eslint.config.mjs): each room's rule and the
 * no-cycle rule catch a breach, the tree passes them and the formatter,
 * and every module loads first without reading an export before it exists.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Run a package's command-line tool (ESLint's config is ESM, which Jest's CommonJS cannot load). */
function tool(bin: string, args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules', bin), ...args],
      { cwd: ROOT, timeout: 240000, maxBuffer: 64 * 1024 * 1024 },
      (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

/** The messages of lint rules for `text` as if it were the file `file`. */
async function lintAs(file: string, text: string): Promise<string[]> {
  const { out, err } = await tool('eslint/bin/eslint.js', ['--stdin', '--stdin-filename', file, '--format', 'json'], text);
  const [result] = JSON.parse(out || '[]') as { messages: { ruleId: string; message: string }[] }[];
  if (!result) throw new Error(`eslint gave no result: ${err}`);
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test.each([
  ['src/dag/breach.ts', "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n", ['src/dag is pure', 'only src/kafka imports kafkajs']],
  ['src/dag/breach.ts', "import { Pipeline } from '../pipeline/pipeline';\nexport const p = Pipeline;\n", ['src/dag is pure: only itself']],
  ['src/protocol/breach.ts', "import { createKafka } from '../kafka/client';\nexport const c = createKafka;\n", ['imports no transport']],
  [
    'src/protocol/codec.ts',
    "import { utf8 } from './bytes';\nimport { ReplyMatcher } from './replies';\nexport const x = [utf8, ReplyMatcher];\n",
    ['protocol/codec imports only errors'],
  ],
  ['src/kafka/breach.ts', "import { Transport } from '../calls/transport';\nexport const t = Transport;\n", ['src/kafka is the adapter']],
  [
    'src/calls/breach.ts',
    "import { Pipeline } from '../pipeline/pipeline';\nexport const p = Pipeline;\n",
    ['src/calls is below the Reactor and the Pipeline'],
  ],
  ['src/naming.ts', "import { RETRY_DEFAULTS } from './retry';\nexport const r = RETRY_DEFAULTS;\n", ['the leaves import nothing of src but errors']],
  ['src/reactor/breach.ts', "import { Command } from 'commander';\nexport const c = Command;\n", ['only src/cli imports commander']],
  ['src/pipeline/breach.ts', "import { trace } from '@opentelemetry/api';\nexport const t = trace;\n", ['only src/telemetry imports OpenTelemetry']],
  [
    'src/retry.ts',
    `${fs.readFileSync(path.join(ROOT, 'src/retry.ts'), 'utf8')}\nimport { REPLY_MODES } from './reply-mode';\nimport { requestMessage } from './calls/calls';\nexport const cycle = [REPLY_MODES, requestMessage];\n`,
    ['import-x/no-cycle'],
  ],
])('a breach in %s is caught', async (file, text, says) => {
  const messages = await lintAs(file, text);
  for (const s of says) expect({ says: s, messages }).toEqual({ says: s, messages: expect.arrayContaining([expect.stringContaining(s)]) });
});

test('the tree passes the lint and the formatter (what npm run lint runs)', async () => {
  const lint = await tool('eslint/bin/eslint.js', ['src', 'test', 'scripts', 'bench', 'examples', 'eslint.config.mjs']);
  expect({ code: lint.code, out: lint.out.trim() }).toEqual({ code: 0, out: '' });
  const format = await tool('prettier/bin/prettier.cjs', ['--list-different', 'src', 'test', 'scripts', 'bench', 'examples', 'eslint.config.mjs']);
  expect({ code: format.code, unformatted: format.out.trim() }).toEqual({ code: 0, unformatted: '' });
}, 240000);

test('every module of src loads first, on its own', () => {
  const files = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  const failed: string[] = [];
  for (const file of files(path.join(ROOT, 'src')).filter((f) => !f.includes(`${path.sep}cli${path.sep}`))) {
    jest.isolateModules(() => {
      try {
        require(file);
      } catch (e) {
        failed.push(`${path.relative(ROOT, file)}: ${(e as Error).message}`);
      }
    });
  }
  expect(failed).toEqual([]);
});
