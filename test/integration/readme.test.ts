import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { brokers, connection, deleteTopics } from '../helpers/broker';
import { topicAdmin } from '../../src/kafka/topics';

const ROOT = path.resolve(__dirname, '../..');
const README_TOPICS = ['math.add', 'math.subtract', 'math.calc'];

/** The README's first TypeScript block, made into a script that imports the library from src/. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```ts block');
  const lines = block.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  if (!imports.some((l) => l.includes("from 'kafka-fusion'"))) throw new Error("the README example does not import from 'kafka-fusion'");
  const entry = JSON.stringify(path.join(ROOT, 'src', 'index'));
  const body = lines.filter((l) => !l.startsWith('import '));
  return [
    ...imports.map((l) => l.replace("'kafka-fusion'", entry)),
    'async function main(): Promise<void> {',
    ...body.map((l) => `  ${l}`),
    '}',
    'main().catch((e) => { console.error(e); process.exit(1); });',
    '',
  ].join('\n');
}

function typeErrors(file: string): string[] {
  const configPath = path.join(ROOT, 'tsconfig.json');
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, ROOT);
  const program = ts.createProgram([file], { ...config.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      [file],
      { cwd: ROOT, env: { ...process.env, KAFKA_BROKERS: brokers.join(',') }, timeout: 100_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('README example', () => {
  test('type-checks and, run as it stands, prints 4', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-readme-'));
    const file = path.join(dir, 'readme-example.ts');
    fs.writeFileSync(file, readmeExample());
    const admin = topicAdmin(connection);
    const existing = new Set(await admin.list('math.'));
    await admin.close();
    try {
      expect(typeErrors(file)).toEqual([]);
      const out = await run(file);
      expect({ code: out.code, stderr: out.code === 0 ? '' : out.stderr }).toEqual({ code: 0, stderr: '' });
      expect(out.stdout.trim().split('\n').pop()).toBe('4');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await deleteTopics(README_TOPICS.filter((t) => !existing.has(t)));
    }
  });
});
