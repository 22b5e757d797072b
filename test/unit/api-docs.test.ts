/**
 * The API reference (docs/api/, one page per entry point) is generated from the types by
 * TypeDoc (`npm run docs`), with every exported declaration documented and
 * every type it names exported (warnings are errors): this test generates
 * it again and fails if the committed one differs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

test('docs/api matches the code: regenerated, it is the same, and TypeDoc warns of nothing', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-api-'));
  try {
    const result = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        path.join(ROOT, 'node_modules', '.bin', 'typedoc'),
        ['--out', out, '--logLevel', 'Warn'],
        { cwd: ROOT, timeout: 100_000 },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, output: stdout + stderr }),
      ),
    );
    expect({ code: result.code, output: result.output.trim() }).toEqual({ code: 0, output: '' });
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort();
    const committedDir = path.join(ROOT, 'docs', 'api');
    expect(files(committedDir)).toEqual(files(out));
    expect(files(out)).toEqual(expect.arrayContaining(['README.md', 'kafka-fusion.md', path.join('kafka-fusion', 'admin.md')]));
    const stale = files(out).filter((f) => fs.readFileSync(path.join(out, f), 'utf8') !== fs.readFileSync(path.join(committedDir, f), 'utf8'));
    if (stale.length > 0) throw new Error(`docs/api is out of date with the code (${stale.join(', ')}): run \`npm run docs\` and commit the result`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
