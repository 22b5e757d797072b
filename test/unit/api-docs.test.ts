/**
 * The API reference (docs/api/README.md) is generated from the types by
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
    const committed = fs.readFileSync(path.join(ROOT, 'docs', 'api', 'README.md'), 'utf8');
    const generated = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    if (generated !== committed) throw new Error('docs/api/README.md is out of date with the code: run `npm run docs` and commit the result');
    expect(fs.readdirSync(path.join(ROOT, 'docs', 'api'))).toEqual(['README.md']);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
