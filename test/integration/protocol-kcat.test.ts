/**
 * The wire protocol is language-neutral: one dependency of a DAG is served
 * by a shell script with kcat and jq (examples/shell/upper-service.sh), not
 * by this library, and the DAG runs through it in both reply modes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { DepsMap } from '../../src/dag';
import { RemoteError } from '../../src/errors';
import { connection, createTopics, testName } from '../helpers/broker';
import { closeAfterTest, closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';

afterEach(closeAllAndCheckTopics);

const SCRIPT = path.join(__dirname, '..', '..', 'examples', 'shell', 'upper-service.sh');

function startShellService(topic: string): ChildProcess {
  // Without them the script cannot serve: say so (npm test installs them: scripts/provision.sh).
  for (const tool of ['kcat', 'jq']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
    if (!found) throw new Error(`${tool} is not installed: npm test installs it with scripts/provision.sh (apt-get install kcat jq)`);
  }
  // Its own process group, so that kcat and jq go with it.
  const child = spawn('bash', [SCRIPT, connection.brokers.join(','), topic, testName('shell')], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`upper-service: ${d.toString()}`));
  closeAfterTest(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // The whole group at once: kcat takes its time to leave its consumer group on SIGTERM.
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
  });
  return child;
}

test.each(['ephemeral', 'instance'] as const)(
  'a DAG node served by kcat and a shell script (%s reply mode): its result flows on, its error comes back named',
  async (replyMode) => {
    const [shellTopic] = await createTopics(testName('shell-upper'));
    startShellService(shellTopic!);
    const length = await startService<unknown[], number>(([s]) => String(s).length);
    const orchestrator = await startReactor<string[], unknown>(
      (m): DepsMap => ({ upper: { topic: shellTopic!, args: m.value }, length: { topic: length.topic, args: [], deps: ['upper'] } }),
      (_m, results) => results,
      { replyMode, callTimeoutMs: 120000 },
    );
    const pipeline = await startPipeline({ replyMode });

    // The first call waits for the script's consumer group to join (it reads from the beginning, so nothing is lost).
    await expect(pipeline.request(orchestrator.topic, ['hello', 'kafka'], { timeoutMs: 150000 })).resolves.toEqual({ upper: 'HELLO KAFKA', length: 11 });
    await expect(pipeline.request(orchestrator.topic, ['fusion'], { timeoutMs: 60000 })).resolves.toEqual({ upper: 'FUSION', length: 6 });

    const error = (await pipeline.request(orchestrator.topic, [1, 2] as never, { timeoutMs: 60000 }).catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remote.name).toBe('DagRunError');
    expect(error.remote.message).toContain(`node "upper" (topic "${shellTopic}") replied with TypeError: data must be an array of strings`);
  },
  300000,
);
