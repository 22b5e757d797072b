/**
 * A secured cluster (issue 14): a broker of this test's own with a SASL_SSL
 * listener (SCRAM-SHA-512, a certificate authority and broker certificate
 * made with the JDK's keytool) and Kafka's StandardAuthorizer, beside its
 * plaintext listener, which is the operator's (it makes topics and grants
 * ACLs). Every client of the library uses SASL_SSL as a principal that holds
 * only the ACLs `requiredAcls` lists (docs/security.md). Every log line,
 * error and dead-letter header written is scanned for the passwords.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { v7 as uuidv7 } from 'uuid';
import path from 'node:path';
import { requiredAcls, type AclNeeds } from '../../src/acls';
import type { DepsMap } from '../../src/dag';
import { AuthorizationError, ConfigError } from '../../src/errors';
import type { ReplyMode } from '../../src/reply-mode';
import type { ConnectionOptions, Logger } from '../../src/kafka/client';
import { EPHEMERAL_TOPIC_PREFIX } from '../../src/naming';
import { sweepTopics } from '../../src/calls/sweeper';
import { topicAdmin } from '../../src/kafka/topic-tools';
import { Pipeline } from '../../src/pipeline/pipeline';
import { DEAD_LETTER_HEADERS as DLQ } from '../../src/protocol/headers';
import { grantAcls } from '../helpers/acls';
import { brokerScript, createTopicsOn, messagesWritten, testName } from '../helpers/broker';
import { closeAfterTest, closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

const ROOT = path.join(__dirname, '..', '..');
const PORT = 9594;
const SECURE_PORT = 9597;
const STATE = path.join(ROOT, '.kafka', 'secure');
/** The operator: the plaintext listener's principal, ANONYMOUS, is a super user there. */
const OPERATOR: ConnectionOptions = { brokers: [`127.0.0.1:${PORT}`], logLevel: 'nothing' };
const USERS = ['svc', 'orch', 'gateway', 'narrow', 'wrong'] as const;
type User = (typeof USERS)[number];
/** Fresh each run, so that a scan for them cannot match by chance. */
const PASSWORDS = Object.fromEntries(USERS.map((u) => [u, `${u}-${randomBytes(9).toString('base64url')}`])) as Record<User, string>;
const WRONG_PASSWORD = `not-the-password-${randomBytes(6).toString('hex')}`;
const SECRETS = [...Object.values(PASSWORDS), WRONG_PASSWORD];

/** Everything the library said during the suite: log lines and errors, to scan for secrets. */
const said: string[] = [];
const capture: Logger = {
  error: (fields, message) => void said.push(`${message} ${JSON.stringify(fields)}`),
  warn: (fields, message) => void said.push(`${message} ${JSON.stringify(fields)}`),
  info: (fields, message) => void said.push(`${message} ${JSON.stringify(fields)}`),
  debug: (fields, message) => void said.push(`${message} ${JSON.stringify(fields)}`),
};
const errors: unknown[] = [];
const onError = (e: unknown): void => {
  errors.push(e);
};

/** This test's own broker: its ports, its SCRAM users (no super user but ANONYMOUS), its state. */
function broker(...args: string[]): Promise<string> {
  const env = {
    KAFKA_PORT: String(PORT),
    KAFKA_SASL_SSL_PORT: String(SECURE_PORT),
    KAFKA_SCRAM_USERS: USERS.map((u) => `${u}:${PASSWORDS[u]}`).join(','),
    KAFKA_SUPER_USERS: '',
    KAFKA_FUSION_STATE: STATE,
  };
  return brokerScript(env, ...args);
}

let ca: string;
/** A connection as `user`, over SASL_SSL, every log line captured (debug and up). */
function as(user: User, password = PASSWORDS[user]): ConnectionOptions {
  return {
    brokers: [`127.0.0.1:${SECURE_PORT}`],
    logLevel: 'debug',
    logger: capture,
    tls: { ca: [ca] },
    sasl: { mechanism: 'scram-sha-512', username: user, password },
  };
}

/** Grant `user` what `needs` calls for, as docs/security.md says to. */
function grant(user: User, needs: AclNeeds): Promise<void> {
  return grantAcls(OPERATOR.brokers as string[], `User:${user}`, requiredAcls(needs));
}

/** Topics made by the operator (a principal here may create only return topics). */
async function operatorTopics(...what: string[]): Promise<string[]> {
  const names = what.map((w) => testName(w));
  await createTopicsOn(OPERATOR, [...names, ...names.map((n) => `${n}.dlq`)]);
  return names;
}

/** A service: a no-deps Reactor that may read its topic and answer return topics under `answers`. */
async function service<T, R>(user: User, topic: string, fn: (v: T) => R, answers: string[] = [EPHEMERAL_TOPIC_PREFIX]) {
  const groupId = testName('group');
  await grant(user, { role: 'reactor', mainTopic: topic, groupId, replyMode: 'none', answers });
  return startService<T, R>(fn, { connection: as(user), mainTopic: topic, groupId, returnTopicAllowList: answers, sweepIntervalMs: 0, onError });
}

beforeAll(async () => {
  await broker('up');
  ca = fs.readFileSync(path.join(STATE, String(PORT), 'tls', 'ca.pem'), 'utf8');
}, 300000);

afterAll(async () => {
  try {
    // No secret in any log line, error message or stack written during the suite.
    console.log(
      `captured ${said.length} log lines and ${errors.length} errors; errors: ${[...new Set(errors.map((e) => (e as Error).message.slice(0, 160)))].join(' | ')}`,
    );
    const texts = [...said, ...errors.map((e) => `${(e as Error).message} ${(e as Error).stack}`)];
    expect(said.length).toBeGreaterThan(100); // debug lines were captured: the scan below scanned something
    for (const secret of SECRETS) expect(texts.filter((t) => t.includes(secret))).toEqual([]);
  } finally {
    await broker('down');
  }
}, 120000);

afterEach(async () => {
  await closeAllAndCheckTopics();
  // That checks the suite's broker; this one is checked here, by the operator.
  const admin = topicAdmin(OPERATOR);
  try {
    await waitFor(async () => (await admin.list(EPHEMERAL_TOPIC_PREFIX)).length === 0, 'no return topic left on the secured broker', 30000, 200);
  } finally {
    await admin.close();
  }
});

describe.each<ReplyMode>(['ephemeral', 'instance'])('least privilege, every client on SASL_SSL (%s calls)', (replyMode) => {
  test('a DAG through two services and an orchestrator, each principal holding only the documented ACLs', async () => {
    const [sumTopic, doubleTopic, mainTopic] = await operatorTopics('sum', 'double', 'main');
    await service<number[], number>('svc', sumTopic!, (xs) => xs.reduce((a, b) => a + b, 0));
    await service<number[], number>('svc', doubleTopic!, ([n]) => n! * 2);
    const groupId = testName('group');
    await grant('orch', { role: 'reactor', mainTopic: mainTopic!, groupId, calls: [sumTopic!, doubleTopic!], replyMode });
    await startReactor<number[], unknown>(
      (m): DepsMap => ({ sum: { topic: sumTopic!, args: m.value }, double: { topic: doubleTopic!, args: [], deps: ['sum'] } }),
      (_m, r) => r,
      { connection: as('orch'), mainTopic: mainTopic!, groupId, replyMode, onError },
    );
    await grant('gateway', { role: 'pipeline', calls: [mainTopic!], replyMode });
    const pipeline = await startPipeline({ connection: as('gateway'), replyMode, onError });
    await expect(pipeline.request(mainTopic!, [1, 2, 3])).resolves.toEqual({ sum: 6, double: 12 });
    await expect(Promise.all([4, 5, 6].map((n) => pipeline.request(mainTopic!, [n])))).resolves.toEqual([8, 10, 12].map((d, i) => ({ sum: i + 4, double: d })));
  });
});

test('no right to create return topics: ephemeral mode is refused at start, naming the ACL; instance mode works on an operator-made reply topic', async () => {
  const [sumTopic] = await operatorTopics('sum');
  const replyTopic = testName('narrow-replies');
  await createTopicsOn(OPERATOR, [replyTopic]);
  await service<number[], number>('svc', sumTopic!, (xs) => xs.reduce((a, b) => a + b, 0), [EPHEMERAL_TOPIC_PREFIX, 'kf-test-narrow-replies-']);
  await grant('narrow', { role: 'pipeline', calls: [sumTopic!], replyMode: 'instance', replyTopic });

  const started = Date.now();
  const refused = await new Pipeline({ connection: as('narrow'), onError }).start().then(
    (p) => p.close().then(() => new Error('it started')),
    (e: unknown) => e,
  );
  console.log(`ephemeral start refused in ${Date.now() - started} ms: ${(refused as Error).message}`);
  expect(refused).toBeInstanceOf(AuthorizationError);
  expect(refused).toMatchObject({
    operation: 'Create',
    resourceType: 'topic',
    resource: EPHEMERAL_TOPIC_PREFIX,
    pattern: 'prefixed',
    principal: 'User:narrow',
    retriable: false,
  });
  expect((refused as Error).message).toContain('--operation Create --topic kafka-fusion.reply. --resource-pattern-type prefixed');

  // Instance mode on the library's own topic needs the same right: refused too.
  await expect(new Pipeline({ connection: as('narrow'), replyMode: 'instance', onError }).start()).rejects.toMatchObject({
    name: 'AuthorizationError',
    operation: 'Create',
  });
  // A reply topic it may not see is refused as such; one it may see but that is not there, named as missing.
  await expect(
    new Pipeline({ connection: as('narrow'), replyMode: 'instance', replyTopic: `${replyTopic}-hidden`, sweepIntervalMs: 0, onError }).start(),
  ).rejects.toMatchObject({ name: 'AuthorizationError', operation: 'Read', resource: `${replyTopic}-hidden` });
  await grant('narrow', { role: 'pipeline', replyMode: 'instance', replyTopic: `${replyTopic}-absent`, sweeps: false });
  await expect(
    new Pipeline({ connection: as('narrow'), replyMode: 'instance', replyTopic: `${replyTopic}-absent`, sweepIntervalMs: 0, onError }).start(),
  ).rejects.toThrow(
    new ConfigError(
      'replyTopic',
      `topic "${replyTopic}-absent" does not exist: an operator creates it (kafka-topics --create --topic ${replyTopic}-absent), one per process, outside the return-topic prefix`,
    ),
  );

  const pipeline = await startPipeline({ connection: as('narrow'), replyMode: 'instance', replyTopic, sweepIntervalMs: 0, onError });
  await expect(pipeline.request(sumTopic!, [1, 2, 3])).resolves.toBe(6);
  await pipeline.close();
  // The operator's topic is left as it was made; a second process on it
  // resumes where its group left off (the first reply is not read again).
  const admin = topicAdmin(OPERATOR);
  try {
    expect(await admin.exists(replyTopic)).toBe(true);
    const again = await startPipeline({ connection: as('narrow'), replyMode: 'instance', replyTopic, sweepIntervalMs: 0, onError });
    await expect(again.request(sumTopic!, [4])).resolves.toBe(4);
    expect(again.ignoredReplies).toBe(0);
    await again.close();
    await admin.deleteNow([replyTopic]);
  } finally {
    await admin.close();
  }
});

test('a returnTopic that is allow-listed but outside the Reactor’s ACLs: refused by the broker, dead-lettered with the reason, nothing written elsewhere', async () => {
  const [sumTopic] = await operatorTopics('sum');
  const outside = testName('outside');
  await createTopicsOn(OPERATOR, [outside]);
  // The allow-list admits `kf-test-outside-...`; the ACLs let it answer only return topics.
  const groupId = testName('group');
  await grant('svc', { role: 'reactor', mainTopic: sumTopic!, groupId, replyMode: 'none' });
  await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0), {
    connection: as('svc'),
    mainTopic: sumTopic!,
    groupId,
    returnTopicAllowList: [EPHEMERAL_TOPIC_PREFIX, 'kf-test-outside-'],
    sweepIntervalMs: 0,
    onError,
  });
  await withRaw(async ({ producers, listen }) => {
    const dead = await listen(`${sumTopic}.dlq`);
    await producers.send(sumTopic!, [{ key: null, value: Buffer.from(JSON.stringify({ data: [1, 2], returnTopic: outside, correlationId: 'c-outside-1' })) }]);
    await waitFor(async () => dead.got.length === 1, 'the request dead-lettered', 60000, 100);
    const [letter] = dead.got;
    console.log(`dead-lettered: ${letter!.text[DLQ.reason]}`);
    expect(letter!.text[DLQ.error]).toBe('AuthorizationError');
    expect(letter!.text[DLQ.code]).toBe('KF_NOT_AUTHORIZED');
    expect(letter!.text[DLQ.reason]).toContain(`may not Write topic "${outside}"`);
    expect(JSON.parse(letter!.value!.toString('utf8'))).toMatchObject({ returnTopic: outside, correlationId: 'c-outside-1' });
    // No dead-letter header carries a secret.
    for (const secret of SECRETS) expect(Object.values(letter!.text).filter((v) => v.includes(secret))).toEqual([]);
  }, OPERATOR);
  expect(await messagesWritten(outside, OPERATOR)).toBe(0);
});

test('a wrong password, an untrusted certificate and a wrong host name: clear errors within seconds that name no secret', async () => {
  const secure = as('gateway');
  const cases: [string, ConnectionOptions, RegExp][] = [
    ['wrong password', as('wrong', WRONG_PASSWORD), /SASL SCRAM SHA512 authentication failed/],
    ['untrusted certificate', { ...secure, tls: true }, /self-signed certificate in certificate chain/],
    ['wrong host name', { ...secure, tls: { ca: [ca], servername: 'kafka.example.invalid' } }, /does not match certificate's altnames|altnames/],
  ];
  for (const [what, connection, says] of cases) {
    const started = Date.now();
    const failure = await new Pipeline({ connection, onError }).start().then(
      (p) => p.close().then(() => new Error('it started')),
      (e: unknown) => e as Error,
    );
    errors.push(failure);
    const ms = Date.now() - started;
    console.log(`${what}: ${ms} ms: ${failure.message}`);
    expect({ what, message: failure.message }).toEqual({ what, message: expect.stringMatching(says) });
    expect(ms).toBeLessThan(30000); // generous on a loaded machine; the figure is printed above
  }
});

test('the CLI with a wrong password exits by itself with a clear error, naming no secret', async () => {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: `127.0.0.1:${SECURE_PORT}`,
    KAFKA_TLS_CA_FILE: path.join(STATE, String(PORT), 'tls', 'ca.pem'),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'wrong',
    KAFKA_SASL_PASSWORD: WRONG_PASSWORD,
  };
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'topics', 'list'],
      { cwd: ROOT, env, timeout: 60000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out: `${stdout}${stderr}` }),
    ),
  );
  console.log(`CLI exited ${code} after ${Date.now() - started} ms: ${out.trim()}`);
  said.push(out);
  expect(code).not.toBe(0);
  expect(code).not.toBeNull(); // it exited by itself, not killed by the timeout
  expect(out).toMatch(/authentication failed/i);
});

test('requests to a topic it may not write: an AuthorizationError at once, not retried', async () => {
  const [sumTopic] = await operatorTopics('sum');
  await grant('gateway', { role: 'pipeline', calls: [], replyMode: 'ephemeral' });
  const pipeline = await startPipeline({ connection: as('gateway'), onError });
  closeAfterTest(() => pipeline.close());
  const started = Date.now();
  const refused = await pipeline.request(sumTopic!, [1]).catch((e: unknown) => e);
  console.log(`refused in ${Date.now() - started} ms: ${(refused as Error).message}`);
  expect(refused).toBeInstanceOf(AuthorizationError);
  expect(refused).toMatchObject({ operation: 'Write', resource: sumTopic, retriable: false });
  expect(Date.now() - started).toBeLessThan(20000);
});

test('a sweeper refused the right to delete says so once, stops, and fails nothing else', async () => {
  const [sumTopic] = await operatorTopics('sum');
  await service<number[], number>('svc', sumTopic!, (xs) => xs.reduce((a, b) => a + b, 0), [EPHEMERAL_TOPIC_PREFIX, 'kf-test-sweep-replies-']);
  const replyTopic = testName('sweep-replies');
  // An orphan named ten minutes ago, which a sweeper would delete.
  const orphan = `${EPHEMERAL_TOPIC_PREFIX}${uuidv7({ msecs: Date.now() - 600000 })}`;
  await createTopicsOn(OPERATOR, [replyTopic, orphan]);
  try {
    // It may see return topics and their groups, not delete them.
    await grant('narrow', { role: 'pipeline', calls: [sumTopic!], replyMode: 'instance', replyTopic });
    await grantAcls(OPERATOR.brokers as string[], 'User:narrow', [
      { resourceType: 'topic', name: EPHEMERAL_TOPIC_PREFIX, pattern: 'prefixed', operations: ['Describe'], why: 'see return topics' },
      { resourceType: 'group', name: EPHEMERAL_TOPIC_PREFIX, pattern: 'prefixed', operations: ['Describe'], why: 'see their groups' },
    ]);
    const told: unknown[] = [];
    // Sweeping every 50 ms: a sweeper that went on would tell again before the end.
    const pipeline = await startPipeline({ connection: as('narrow'), replyMode: 'instance', replyTopic, sweepIntervalMs: 50, onError: (e) => told.push(e) });
    await waitFor(async () => told.length > 0, 'the sweeper to report its refusal', 30000, 50);
    console.log(`sweeper: ${(told[0] as Error).message}`);
    expect(told[0]).toMatchObject({ name: 'AuthorizationError', operation: 'Delete', resource: EPHEMERAL_TOPIC_PREFIX, pattern: 'prefixed' });
    await expect(pipeline.request(sumTopic!, [2, 3])).resolves.toBe(5);
    expect(told).toHaveLength(1);
    await expect(sweepTopics({ connection: as('narrow') })).rejects.toMatchObject({ name: 'AuthorizationError', operation: 'Delete' });
    const admin = topicAdmin(OPERATOR);
    try {
      expect(await admin.exists(orphan)).toBe(true);
    } finally {
      await admin.close();
    }
    errors.push(...told);
  } finally {
    const admin = topicAdmin(OPERATOR);
    try {
      await admin.deleteNow([orphan, replyTopic]);
    } finally {
      await admin.close();
    }
  }
});
