/**
 * The kafka-fusion command against the broker: in-process through run()
 * (its exit code and what it prints), and once through the bin script.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/main';
import { brokers, createTopics, messagesWritten, partitionsOf, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startReactor, startService } from '../helpers/fusion';
import { texts } from '../helpers/bytes';
import { closedPort } from '../helpers/net';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const diamondFile = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kf-cli-'));
  const file = path.join(dir, 'deps.json');
  writeFileSync(
    file,
    JSON.stringify({
      a: { topic: 'svc.a', args: [1] },
      b: { topic: 'svc.b', args: [], deps: ['a'] },
      c: { topic: 'svc.c', args: [], deps: ['a'] },
      d: { topic: 'svc.d', args: [], deps: ['b', 'c'] },
    }),
  );
  return file;
};

describe('kafka-fusion CLI', () => {
  test('request prints the JSON result (both reply modes); a service error or a timeout exits 1 with a clear message', async () => {
    const svc = await startService<{ n: number }, unknown>((v) => {
      if (v.n < 0) throw new RangeError('negative');
      return { doubled: v.n * 2 };
    });
    const ok = await cli('request', svc.topic, '{"n":21}');
    expect(ok).toMatchObject({ code: 0, out: ['{"doubled":42}'] });
    expect(ok.err[0]).toMatch(/^waiting up to 30000 ms for the reply from /);
    expect((await cli('request', svc.topic, '{"n":1}', '--reply-mode', 'instance')).out).toEqual(['{"doubled":2}']);

    const remote = await cli('request', svc.topic, '{"n":-1}');
    expect(remote.code).toBe(1);
    expect(remote.err.at(-1)).toContain('error: RemoteError (KF_REMOTE):');
    expect(remote.err.at(-1)).toContain('replied with RangeError: negative');

    const [silent] = await createTopics(testName('silent'));
    const late = await cli('request', silent!, '1', '--timeout', '1500');
    expect(late.code).toBe(1);
    expect(late.err.at(-1)).toBe(`error: CallTimeoutError (KF_TIMEOUT): no reply from topic "${silent}" within 1500 ms`);
  });

  test('request --header passes headers on; --wire headers sends the bare JSON a NestJS or Spring service reads', async () => {
    const seen: Record<string, string>[] = [];
    const svc = await startReactor<unknown, unknown>(
      () => undefined,
      (m) => (seen.push(texts(m.headers)), m.value),
    );
    const out = await cli('request', svc.topic, '[1,2]', '--header', 'tenant=t-1', '--header', 'x-id=a=b', '--wire', 'headers');
    expect(out).toMatchObject({ code: 0, out: ['[1,2]'] });
    expect(seen[0]).toMatchObject({ tenant: 't-1', 'x-id': 'a=b', 'kafka-fusion.content-type': 'application/json' });
    expect((await cli('request', svc.topic, '1', '--header', 'novalue')).err.join('\n')).toContain('expected name=value, got "novalue"');
  });

  test('topics create makes topics (leaders awaited), leaves existing ones alone, refuses invalid names', async () => {
    const name = testName('created');
    const made = await cli('topics', 'create', name, `${name}.b`, '--partitions', '3');
    expect(made).toMatchObject({ code: 0, out: [name, `${name}.b`], err: ['2 topic(s) ready'] });
    expect(await messagesWritten(name)).toBe(0);
    expect((await partitionsOf(name)).length).toBe(3);
    expect((await cli('topics', 'create', name)).code).toBe(0);
    const bad = await cli('topics', 'create', 'has space');
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual(['error: ConfigError (KF_CONFIG): topic: not a valid Kafka topic name: "has space"']);
  });

  test('send writes a request with no return topic', async () => {
    const [topic] = await createTopics(testName('sink'));
    await withRaw(async ({ listen }) => {
      const got = await listen(topic!);
      expect((await cli('send', topic!, '{"hello":"world"}', '--key', 'k1')).code).toBe(0);
      await waitFor(() => got.got.length === 1, 'the request');
      expect(JSON.parse(got.got[0]!.value!.toString('utf8'))).toEqual({ data: { hello: 'world' } });
      expect(got.got[0]!.keyText).toBe('k1');
    });
  });

  test('dag render draws a deps map file as Mermaid (default), DOT or SVG; an invalid one exits 1 naming the cycle', async () => {
    const file = diamondFile();
    const mermaid = await cli('dag', 'render', file);
    expect(mermaid.code).toBe(0);
    expect(mermaid.out.join('\n')).toMatch(/^flowchart LR\n {2}n0\["a<br\/>svc\.a"\]/);
    const dot = await cli('dag', 'render', file, '--format', 'dot');
    expect(dot.out.join('\n')).toContain('"b" -> "d";');
    // SVG with no Graphviz installed (it is built in, as WebAssembly).
    const svg = await cli('dag', 'render', file, '--format', 'svg');
    expect({ code: svg.code, start: svg.out.join('\n').includes('<svg'), nodes: (svg.out.join('\n').match(/class="node"/g) ?? []).length }).toEqual({
      code: 0,
      start: true,
      nodes: 4,
    });
    const cyclic = path.join(path.dirname(file), 'cycle.json');
    writeFileSync(cyclic, JSON.stringify({ a: { topic: 't', args: [], deps: ['b'] }, b: { topic: 't', args: [], deps: ['a'] } }));
    const bad = await cli('dag', 'render', cyclic);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual(['error: DagCycleError (KF_DAG_CYCLE): deps map has a cycle: a -> b -> a']);
  });

  test('bad usage exits 2 with what is wrong; --help exits 0', async () => {
    expect((await cli('request', 'some.topic', '{not json')).code).toBe(2);
    const badJson = await cli('request', 'some.topic', '{not json');
    expect(badJson.err.join('\n')).toContain("is invalid for argument 'json'. not JSON");
    expect((await cli('request', 'x', '1', '--timeout', 'soon')).err.join('\n')).toContain('expected a positive whole number of milliseconds, got "soon"');
    expect((await cli('dag', 'render', 'f.json', '--format', 'png')).code).toBe(2);
    expect((await cli('broker', 'explode')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.out.join('\n')).toContain('Usage: kafka-fusion [options] [command]');
    expect(help.out.join('\n')).toContain('KAFKA_BROKERS  the Kafka cluster');
  });

  test('--version prints the package version; --brokers names the cluster, and a wrong one is one error line saying where it came from', async () => {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(await cli('--version')).toEqual({ code: 0, out: [version], err: [] });
    const port = await closedPort(); // nothing listens there
    const wrong = await cli('--brokers', `127.0.0.1:${port}`, 'topics', 'list');
    expect(wrong).toEqual({
      code: 1,
      out: [],
      err: [
        `error: TransportError (KF_TRANSPORT): could not connect to a Kafka broker at 127.0.0.1:${port} (connection refused: nothing listens there); the address is from the command-line option --brokers`,
      ],
    });
    expect((await cli('--brokers', 'nohost', 'topics', 'list')).code).toBe(2);
    const right = await cli('--brokers', brokers.join(','), 'topics', 'list', '--all');
    expect(right.code).toBe(0);
    expect(right.out).toContain('__consumer_offsets'); // --all: not only the library's topics
  });

  test('dag render names the file it cannot read or parse', async () => {
    const broken = path.join(os.tmpdir(), `broken-${process.pid}.json`);
    writeFileSync(broken, '{"a": ');
    try {
      expect((await cli('dag', 'render', broken)).err).toEqual([
        expect.stringMatching(new RegExp(`^error: ConfigError \\(KF_CONFIG\\): deps\\.json: ${broken.replace(/[.]/g, '\\.')} is not JSON: `)),
      ]);
    } finally {
      rmSync(broken);
    }
    expect((await cli('dag', 'render', '/nonexistent/deps.json')).err).toEqual([
      expect.stringMatching(/^error: ConfigError \(KF_CONFIG\): deps\.json: cannot read \/nonexistent\/deps\.json: ENOENT/),
    ]);
  });

  test('topics list shows return topics with their age; topics sweep deletes the orphans', async () => {
    const [orphan] = await createTopics(`kafka-fusion.reply.${'01a21000-0000-7000-8000-000000000000'}`);
    const listed = await cli('topics', 'list');
    expect(listed.code).toBe(0);
    expect(listed.out.find((l) => l.startsWith(orphan!))).toMatch(/\t\d+ s old$/);
    const swept = await cli('topics', 'sweep', '--older-than', '0');
    expect(swept.code).toBe(0);
    expect(swept.out).toContain(`deleted ${orphan}`);
    expect(swept.err.at(-1)).toMatch(/^\d+ deleted, \d+ kept \(live\), \d+ kept \(young\)$/);
  });

  test('the bin script runs the command and passes its exit code on', async () => {
    const bin = path.join(__dirname, '..', '..', 'bin', 'kafka-fusion.js');
    const result = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [bin, 'dag', 'render', diamondFile(), '--format', 'dot'], { timeout: 120000 }, (error, stdout) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
      ),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('digraph dag {');
    const failed = await new Promise<number>((resolve) =>
      execFile(process.execPath, [bin, 'dag', 'render', '/nonexistent/deps.json'], { timeout: 120000 }, (error) => resolve(error ? Number(error.code) : 0)),
    );
    expect(failed).toBe(1);
  });
});
