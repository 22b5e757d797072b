/**
 * README.md's snippets, run as they stand, so that none drifts from the code:
 *
 * - every ```ts block is a program (imports from 'kafka-fusion' point at
 *   src/); all are type-checked together, then each is run with tsx;
 * - every ```sh block is run by bash (-euo pipefail) in the checkout, with
 *   `kafka-fusion` on the PATH;
 * - each must exit 0 and print exactly the lines its `// -> text` (ts) or
 *   `# -> text` (sh) comments give, in order (leading and trailing blanks
 *   aside), and have at least one;
 * - the ```text block of the Command line section lists commands whose
 *   every option the command's --help has.
 *
 * Other blocks (console, json, text) are not run. Snippets name their topics
 * `docs.*` or `math.*` and their groups `docs-*` or `math-*`; what they create
 * under those names is deleted after each (nothing else on the broker is
 * touched: a benchmark or another run may be using it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { run as cli } from '../../src/cli/main';
import { createKafka, resolveConnection } from '../../src/kafka/client';
import { brokers, connection } from '../helpers/broker';

const ROOT = path.resolve(__dirname, '../..');
// Under test/, so that tsconfig.json (and its decorators setting) applies to the snippets as to tests.
const WORK = path.join(ROOT, 'test', 'readme-snippets');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

interface Snippet {
  lang: string;
  code: string;
  /** The heading it sits under, and its number there. */
  title: string;
  expected: string[];
}

function blocks(): Snippet[] {
  const out: Snippet[] = [];
  let heading = '(top)';
  let n = 0;
  const lines = README.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{2,3} (.+)$/.exec(lines[i]!);
    if (h) {
      heading = h[1]!;
      n = 0;
      continue;
    }
    const open = /^```(\w+)$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const lang = open[1]!;
    const marker = lang === 'sh' ? '#' : '//';
    const expected = body.flatMap((l) => {
      const at = l.indexOf(`${marker} -> `);
      return at < 0 ? [] : [l.slice(at + marker.length + 4).trim()];
    });
    out.push({ lang, code: body.join('\n'), title: `${heading} #${++n}`, expected });
  }
  return out;
}

const all = blocks();
const runnable = all.filter((b) => b.lang === 'ts' || b.lang === 'sh');

/** A ts snippet as a script: its imports first (the library's from src/), the rest in an async main. */
function program(code: string): string {
  const lines = code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  return [
    ...imports.map((l) => l.replace("from 'kafka-fusion'", "from '../../src/index'").replace(/from 'kafka-fusion\/(\w+)'/, "from '../../src/api/$1'")),
    'async function main(): Promise<void> {',
    ...body.map((l) => `  ${l}`),
    '}',
    'main().catch((e) => { console.error(e); process.exit(1); });',
    '',
  ].join('\n');
}

const fileOf = (s: Snippet) => path.join(WORK, `readme-${runnable.indexOf(s)}.ts`);

function typeErrors(files: string[]): string[] {
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, ROOT);
  const prog = ts.createProgram(files, { ...config.options, noEmit: true });
  return ts.getPreEmitDiagnostics(prog).map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

/** A snippet is killed after this, within its test's own deadline. */
const SNIPPET_TIMEOUT_MS = 150_000;

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      cmd,
      args,
      { cwd: ROOT, env: { ...process.env, ...env, KAFKA_BROKERS: brokers.join(',') }, timeout: SNIPPET_TIMEOUT_MS },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    ),
  );
}

/** What exists on the broker now: topics and consumer groups. */
async function brokerState(): Promise<{ topics: Set<string>; groups: Set<string> }> {
  const admin = createKafka(resolveConnection(connection)).admin();
  await admin.connect();
  try {
    return { topics: new Set(await admin.listTopics()), groups: new Set((await admin.listGroups()).groups.map((g) => g.groupId)) };
  } finally {
    await admin.disconnect();
  }
}

const SNIPPET_TOPIC = /^(docs|math)\./;
const SNIPPET_GROUP = /^(docs|math)-/;

/** Delete what a snippet created under the snippets' names. */
async function removeCreated(before: { topics: Set<string>; groups: Set<string> }): Promise<void> {
  const now = await brokerState();
  const topics = [...now.topics].filter((t) => !before.topics.has(t) && SNIPPET_TOPIC.test(t));
  const groups = [...now.groups].filter((g) => !before.groups.has(g) && SNIPPET_GROUP.test(g));
  const admin = createKafka(resolveConnection(connection)).admin();
  await admin.connect();
  try {
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10000 });
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined); // a group still emptying is left
  } finally {
    await admin.disconnect();
  }
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);

beforeAll(() => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(path.join(WORK, 'bin'), { recursive: true });
  // `kafka-fusion` for the sh snippets: the command from src/, as the bin script runs it in a checkout.
  fs.writeFileSync(
    path.join(WORK, 'bin', 'kafka-fusion'),
    `#!/bin/sh\nexec "${process.execPath}" --import tsx "${path.join(ROOT, 'src', 'cli', 'main.ts')}" "$@"\n`,
    { mode: 0o755 },
  );
  for (const s of runnable.filter((b) => b.lang === 'ts')) fs.writeFileSync(fileOf(s), program(s.code));
});
afterAll(() => fs.rmSync(WORK, { recursive: true, force: true }));

describe('README snippets', () => {
  test('there are snippets to run, each with the output it promises', () => {
    expect(runnable.filter((s) => s.lang === 'ts').length).toBeGreaterThanOrEqual(7);
    expect(runnable.filter((s) => s.lang === 'sh').length).toBeGreaterThanOrEqual(2);
    expect(runnable.filter((s) => s.expected.length === 0).map((s) => s.title)).toEqual([]);
    expect(runnable.every((s) => s.lang === 'sh' || s.code.includes("from 'kafka-fusion'"))).toBe(true);
    // Their names are the ones cleaned up after them.
    const code = runnable.map((s) => s.code).join('\n');
    const named = (re: RegExp) => [...code.matchAll(re)].map((m) => m[1]!);
    expect(named(/(?:mainTopic|topic): '([^']+)'/g).filter((t) => !SNIPPET_TOPIC.test(t) && !t.startsWith('svc.'))).toEqual([]);
    expect(named(/groupId: '([^']+)'/g).filter((g) => !SNIPPET_GROUP.test(g))).toEqual([]);
    expect(named(/kafka-fusion topics create ([^ ]+)/g).filter((t) => !SNIPPET_TOPIC.test(t))).toEqual([]);
  });

  test('every ts snippet type-checks', () => {
    expect(typeErrors(runnable.filter((b) => b.lang === 'ts').map(fileOf))).toEqual([]);
  });

  test.each(runnable.map((s) => [`${s.lang}: ${s.title}`, s] as const))(
    '%s runs and prints what it says',
    async (_title, s) => {
      const before = await brokerState();
      try {
        const out =
          s.lang === 'ts'
            ? await exec(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [fileOf(s)], {})
            : await exec('bash', ['-euo', 'pipefail', '-c', s.code], { PATH: `${path.join(WORK, 'bin')}${path.delimiter}${process.env.PATH}` });
        expect({ code: out.code, stderr: out.code === 0 ? '' : out.stderr }).toEqual({ code: 0, stderr: '' });
        expect(lines(out.stdout)).toEqual(s.expected);
      } finally {
        await removeCreated(before);
      }
    },
    SNIPPET_TIMEOUT_MS + 30_000,
  );

  test('the command synopsis names only options the commands have', async () => {
    const synopsis = all.find((b) => b.lang === 'text' && b.title.startsWith('Command line'));
    expect(synopsis).toBeDefined();
    const commands = synopsis!.code.split('\n').filter((l) => l.startsWith('kafka-fusion '));
    expect(commands.length).toBeGreaterThanOrEqual(7);
    for (const line of commands) {
      const command: string[] = [];
      for (const word of line.split(' ').slice(1)) {
        if (!/^[a-z]+$/.test(word)) break;
        command.push(word);
      }
      const help: string[] = [];
      const code = await cli([...command, '--help'], { out: (l) => help.push(l), err: (l) => help.push(l) });
      expect({ line, code }).toEqual({ line, code: 0 });
      for (const flag of line.match(/--[a-z-]+/g) ?? []) expect({ line, flag, inHelp: help.join('\n').includes(flag) }).toEqual({ line, flag, inHelp: true });
    }
  });
});
