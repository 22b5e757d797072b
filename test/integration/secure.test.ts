/**
 * A secured listener (issue 14, in part): a broker of this test's own with
 * SASL_SSL (SCRAM-SHA-512, a certificate authority and broker certificate
 * made with the JDK's keytool) beside its plaintext listener. A DAG runs
 * with every client on SASL_SSL; a wrong password, an untrusted certificate
 * and a wrong host name are clear errors within seconds, naming no secret.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DepsMap } from '../../src/dag';
import type { ReplyMode } from '../../src/kafka/calls';
import type { ConnectionOptions } from '../../src/kafka/client';
import { EPHEMERAL_TOPIC_PREFIX } from '../../src/kafka/naming';
import { topicAdmin } from '../../src/kafka/topics';
import { Pipeline } from '../../src/pipeline/pipeline';
import { createTopicsOn, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

const ROOT = path.join(__dirname, '..', '..');
const PORT = 9594;
const SECURE_PORT = 9597;
const USER = 'fusion-test';
const PASSWORD = 'fusion-test-secret-7b1f';
const STATE = path.join(ROOT, '.kafka', 'secure');

function broker(...args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_PORT: String(PORT), KAFKA_SASL_SSL_PORT: String(SECURE_PORT), KAFKA_SCRAM_USERS: `${USER}:${PASSWORD}`, KAFKA_FUSION_STATE: STATE };
  delete env.KAFKA_BROKERS;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'broker.ts'), ...args], { cwd: ROOT, env, timeout: 240000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`broker ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`)) : resolve(stdout),
    ),
  );
}

let secure: ConnectionOptions;

beforeAll(async () => {
  await broker('up');
  const ca = fs.readFileSync(path.join(STATE, String(PORT), 'tls', 'ca.pem'), 'utf8');
  secure = { brokers: [`127.0.0.1:${SECURE_PORT}`], logLevel: 'nothing', tls: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: USER, password: PASSWORD } };
}, 300000);
afterAll(() => broker('down'), 120000);

afterEach(async () => {
  await closeAllAndCheckTopics();
  // That checks the suite's broker; this one is checked here.
  const admin = topicAdmin(secure);
  try {
    await waitFor(async () => (await admin.list(EPHEMERAL_TOPIC_PREFIX)).length === 0, 'no return topic left on the secured broker', 30000, 200);
  } finally {
    await admin.close();
  }
});

describe.each<ReplyMode>(['ephemeral', 'instance'])('every client on SASL_SSL (%s calls)', (replyMode) => {
  test('a DAG through two services and an orchestrator', async () => {
    const [sumTopic, doubleTopic, mainTopic] = await createTopicsOn(secure, [testName('sum'), testName('double'), testName('main')]);
    await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0), { connection: secure, mainTopic: sumTopic! });
    await startService<number[], number>(([n]) => n! * 2, { connection: secure, mainTopic: doubleTopic! });
    await startReactor<number[], unknown>(
      (m): DepsMap => ({ sum: { topic: sumTopic!, args: m.value }, double: { topic: doubleTopic!, args: [], deps: ['sum'] } }),
      (_m, r) => r,
      { connection: secure, mainTopic: mainTopic!, replyMode },
    );
    const pipeline = await startPipeline({ connection: secure, replyMode });
    await expect(pipeline.request(mainTopic!, [1, 2, 3])).resolves.toEqual({ sum: 6, double: 12 });
  });
});

test('a wrong password, an untrusted certificate and a wrong host name: clear errors within seconds that name no secret', async () => {
  const cases: [string, ConnectionOptions, RegExp][] = [
    ['wrong password', { ...secure, sasl: { mechanism: 'scram-sha-512', username: USER, password: 'not-the-password-3c9d' } }, /SASL SCRAM SHA512 authentication failed/],
    ['untrusted certificate', { ...secure, tls: true }, /self-signed certificate in certificate chain/],
    ['wrong host name', { ...secure, tls: { ...(secure.tls as object), servername: 'kafka.example.invalid' } }, /does not match certificate's altnames|altnames/],
  ];
  for (const [what, connection, says] of cases) {
    const started = Date.now();
    const failure = await new Pipeline({ connection }).start().then(
      (p) => p.close().then(() => new Error('it started')),
      (e: unknown) => e as Error,
    );
    const ms = Date.now() - started;
    console.log(`${what}: ${ms} ms: ${failure.message}`);
    expect({ what, message: failure.message }).toEqual({ what, message: expect.stringMatching(says) });
    expect(ms).toBeLessThan(30000); // generous on a loaded machine; the figure is printed above
    for (const secret of [PASSWORD, 'not-the-password-3c9d']) expect(failure.message.includes(secret) || String(failure.stack).includes(secret)).toBe(false);
  }
});
