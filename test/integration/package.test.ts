/**
 * The package as a user gets it (issue 13): packed with `npm pack` (its
 * prepack builds dist/), installed into a fresh project, then a CommonJS
 * and an ES module script call a service on the broker and exit by
 * themselves, and the installed command prints its version and runs its
 * broker launcher.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokers } from '../helpers/broker';
import { closeAllAndCheckTopics, startService } from '../helpers/fusion';

afterEach(closeAllAndCheckTopics);

const ROOT = path.join(__dirname, '..', '..');

function run(file: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { cwd, timeout: timeoutMs, env: { ...process.env, KAFKA_BROKERS: brokers.join(',') } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    ),
  );
}

test('npm pack, npm install into a new project: CommonJS and ESM scripts call a service and exit; the CLI has --version', async () => {
  const svc = await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-fusion-user-'));
  try {
    // npm pack runs prepack, which rebuilds dist/ in this checkout: safe because test files run one at a time (jest.config.js, maxWorkers 1).
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], ROOT, 240000);
    expect({ code: packed.code, stderr: packed.stderr.split('\n').filter((l) => /ERR!/.test(l)) }).toEqual({ code: 0, stderr: [] });
    const tarball = path.join(work, packed.stdout.trim().split('\n').at(-1)!);
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'first-hour-app', version: '1.0.0', private: true }));
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], work, 240000);
    expect({ code: installed.code, err: installed.code === 0 ? '' : installed.stderr }).toEqual({ code: 0, err: '' });

    // What ships: built code with self-contained source maps, types, the command, the licence; no TypeScript sources.
    const pkg = path.join(work, 'node_modules', 'kafka-fusion');
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/broker/local.js',
      'bin/kafka-fusion.js',
      'LICENSE',
      'README.md',
      'docs/protocol.md',
    ])
      expect({ f, there: fs.existsSync(path.join(pkg, f)) }).toEqual({ f, there: true });
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    const map = JSON.parse(fs.readFileSync(path.join(pkg, 'dist', 'index.js.map'), 'utf8')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('export');

    const call = `new Pipeline().start().then(async (p) => { console.log(JSON.stringify(await p.request(${JSON.stringify(svc.topic)}, [1, 2, 3]))); await p.close(); })`;
    fs.writeFileSync(path.join(work, 'app.cjs'), `const { Pipeline } = require('kafka-fusion');\n${call};\n`);
    fs.writeFileSync(path.join(work, 'app.mjs'), `import { Pipeline } from 'kafka-fusion';\n${call};\n`);
    for (const script of ['app.cjs', 'app.mjs']) {
      // Exits by itself once closed: the timeout would kill it otherwise.
      expect({ script, ...(await run(process.execPath, [script], work, 60000)) }).toEqual({ script, code: 0, stdout: '6\n', stderr: '' });
    }
    // The sub-path entries load from both module systems; their types resolve with node16 resolution.
    const subpaths = `[typeof a.requiredAcls, typeof d.buildPlan, typeof p.WIRE_HEADERS, typeof t.LATENCY_BUCKETS_MS].join(',')`;
    fs.writeFileSync(
      path.join(work, 'sub.cjs'),
      `const a = require('kafka-fusion/admin'), d = require('kafka-fusion/dag'), p = require('kafka-fusion/protocol'), t = require('kafka-fusion/telemetry');\nconsole.log(${subpaths});\n`,
    );
    fs.writeFileSync(
      path.join(work, 'sub.mjs'),
      `import * as a from 'kafka-fusion/admin';\nimport * as d from 'kafka-fusion/dag';\nimport * as p from 'kafka-fusion/protocol';\nimport * as t from 'kafka-fusion/telemetry';\nconsole.log(${subpaths});\n`,
    );
    for (const script of ['sub.cjs', 'sub.mjs']) {
      expect({ script, ...(await run(process.execPath, [script], work, 60000)) }).toEqual({
        script,
        code: 0,
        stdout: 'function,function,object,object\n',
        stderr: '',
      });
    }
    fs.writeFileSync(
      path.join(work, 'types.ts'),
      "import { Pipeline } from 'kafka-fusion';\nimport { requiredAcls, type AclGrant } from 'kafka-fusion/admin';\nimport type { Plan } from 'kafka-fusion/dag';\nexport const grants: AclGrant[] = requiredAcls({ role: 'pipeline' });\nexport type Both = [Pipeline, Plan];\n",
    );
    for (const resolution of [
      ['--module', 'node16', '--moduleResolution', 'node16'],
      ['--module', 'commonjs', '--moduleResolution', 'node10'],
    ]) {
      const tsc = await run(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', ...resolution, 'types.ts'],
        work,
        120000,
      );
      expect({ resolution: resolution[3], ...tsc }).toEqual({ resolution: resolution[3], code: 0, stdout: '', stderr: '' });
    }
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const bin = path.join(work, 'node_modules', '.bin', 'kafka-fusion');
    expect(await run(bin, ['--version'], work, 60000)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    // The broker launcher ships too; with KAFKA_BROKERS set (as here) `up` checks that cluster instead of starting one.
    const up = await run(bin, ['broker', 'up'], work, 120000);
    expect({ code: up.code, says: up.stdout.includes('cluster answers') }).toEqual({ code: 0, says: true });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 600000);
