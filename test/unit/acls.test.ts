/**
 * The ACL table (pure): what requiredAcls lists for each kind of process,
 * that docs/security.md shows exactly that, the kafka-acls commands, and
 * how kafkajs's authorization failures become AuthorizationErrors.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka } from 'kafkajs';
import { aclCommands, aclTable, requiredAcls, type AclNeeds } from '../../src/acls';
import { AuthorizationError, ConfigError, isRetriable, TransportError } from '../../src/errors';
import { authorizationError, setPrincipal } from '../../src/kafka/authz';
import { errorTypes } from '../../src/kafka/error-types';

const ROOT = path.join(__dirname, '..', '..');

/** The examples docs/security.md shows, by the command it says prints them. */
const DOCUMENTED: [string, AclNeeds][] = [
  [
    'kafka-fusion acls reactor --principal User:stock --main-topic stock --group stock-svc --reply-mode none --no-sweep',
    { role: 'reactor', mainTopic: 'stock', groupId: 'stock-svc', replyMode: 'none', sweeps: false },
  ],
  [
    'kafka-fusion acls reactor --principal User:orders --main-topic orders --group orders-svc --calls stock price',
    { role: 'reactor', mainTopic: 'orders', groupId: 'orders-svc', calls: ['stock', 'price'] },
  ],
  ['kafka-fusion acls pipeline --principal User:api --calls orders', { role: 'pipeline', calls: ['orders'] }],
  [
    'kafka-fusion acls pipeline --principal User:api --calls orders --reply-mode instance --reply-topic api-1.replies',
    { role: 'pipeline', calls: ['orders'], replyMode: 'instance', replyTopic: 'api-1.replies' },
  ],
];

test('docs/security.md shows, under each command, the table requiredAcls gives', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'security.md'), 'utf8');
  for (const [command, needs] of DOCUMENTED) {
    const at = doc.indexOf(`\`${command}\``);
    expect({ command, found: at >= 0 }).toEqual({ command, found: true });
    expect(doc.slice(at, at + 3000)).toContain(aclTable(requiredAcls(needs)));
  }
  expect(doc).toContain(aclCommands(requiredAcls(DOCUMENTED[2]![1]), 'User:api', 'kafka-1:9093').join('\n'));
});

test('a service needs to read its topic and group, write its dead letters and its callers’ return topics, and nothing else', () => {
  expect(requiredAcls({ role: 'reactor', mainTopic: 'stock', groupId: 'stock-svc', replyMode: 'none', sweeps: false })).toEqual([
    { resourceType: 'topic', name: 'stock', pattern: 'literal', operations: ['Read', 'Describe'], why: expect.any(String) },
    { resourceType: 'group', name: 'stock-svc', pattern: 'literal', operations: ['Read', 'Describe'], why: expect.any(String) },
    { resourceType: 'topic', name: 'stock.dlq', pattern: 'literal', operations: ['Write', 'Describe'], why: expect.any(String) },
    { resourceType: 'topic', name: 'kafka-fusion.reply.', pattern: 'prefixed', operations: ['Write', 'Describe'], why: expect.any(String) },
  ]);
});

test('a caller in ephemeral or instance mode may create, read, write (heartbeat) and delete return topics, with no group; with an operator’s reply topic, only read that one', () => {
  for (const replyMode of ['ephemeral', 'instance'] as const) {
    const grants = requiredAcls({ role: 'pipeline', calls: ['orders'], replyMode, returnTopicPrefix: 'api.reply.' });
    expect(grants.map((g) => `${g.resourceType} ${g.name} ${g.pattern} ${g.operations.join(',')}`)).toEqual([
      'topic orders literal Write,Describe',
      'topic api.reply. prefixed Create,Delete,Read,Write,Describe',
    ]);
  }
  const operator = requiredAcls({ role: 'pipeline', calls: ['orders'], replyMode: 'instance', replyTopic: 'api-1.replies' });
  expect(operator.some((g) => g.operations.includes('Create') || g.operations.includes('Delete'))).toBe(false);
  expect(operator.some((g) => g.resourceType === 'group')).toBe(false);
  // A sweeper asked for on top needs Delete and Describe on the prefix.
  const sweeping = requiredAcls({ role: 'pipeline', replyMode: 'instance', replyTopic: 'api-1.replies', sweeps: true });
  expect(sweeping.filter((g) => g.pattern === 'prefixed').map((g) => `${g.resourceType} ${g.operations.join(',')}`)).toEqual(['topic Delete,Describe']);
});

test('one grant per resource: an orchestrator’s prefix holds the union of answering and calling', () => {
  const grants = requiredAcls({ role: 'reactor', mainTopic: 'orders', groupId: 'g', calls: ['stock'], answers: ['kafka-fusion.reply.', 'api-'] });
  const prefix = grants.filter((g) => g.resourceType === 'topic' && g.name === 'kafka-fusion.reply.');
  expect(prefix).toHaveLength(1);
  expect(prefix[0]!.operations).toEqual(['Create', 'Delete', 'Read', 'Write', 'Describe']);
  expect(grants.find((g) => g.name === 'api-')).toMatchObject({ pattern: 'prefixed', operations: ['Write', 'Describe'] });
});

test('bad needs are ConfigErrors naming the field', () => {
  expect(() => requiredAcls({ role: 'reactor', groupId: 'g' })).toThrow(new ConfigError('mainTopic', 'must be a valid Kafka topic name, got undefined'));
  expect(() => requiredAcls({ role: 'reactor', mainTopic: 'm' })).toThrow(ConfigError);
  expect(() => requiredAcls({ role: 'pipeline', replyTopic: 'r' })).toThrow(/replyTopic/);
  expect(() => requiredAcls({ role: 'pipeline', calls: ['bad topic'] })).toThrow(/calls\[0\]/);
  expect(() => requiredAcls({ role: 'worker' as 'pipeline' })).toThrow(/role/);
  expect(() => aclCommands([], 'orders')).toThrow(/User:<name>/);
});

test('kafka-acls commands: one per resource, prefixed where the grant is', () => {
  expect(aclCommands(requiredAcls({ role: 'pipeline', calls: ['orders'], replyMode: 'none' }), 'User:api')).toEqual([
    'kafka-acls --bootstrap-server <broker:port> --command-config <admin.properties> --add --allow-principal User:api --operation Write --operation Describe --topic orders',
  ]);
});

test('the CLI prints the same commands, and a missing field as a clear error', async () => {
  const run = (...args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args],
        { cwd: ROOT, timeout: 60000 },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
      ),
    );
  const ok = await run('acls', 'pipeline', '--principal', 'User:api', '--calls', 'orders', '--brokers', 'kafka-1:9093');
  expect(ok.code).toBe(0);
  expect(ok.out.trimEnd()).toBe(aclCommands(requiredAcls({ role: 'pipeline', calls: ['orders'] }), 'User:api', 'kafka-1:9093').join('\n'));
  const bad = await run('acls', 'reactor', '--principal', 'User:x');
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('mainTopic: must be a valid Kafka topic name');
}, 120000);

describe('kafkajs authorization failures', () => {
  const kafka = new Kafka({ brokers: ['127.0.0.1:1'] });
  setPrincipal(kafka, 'User:api');
  const refused = (type: string) => Object.assign(new Error('refused'), { type, retriable: false });

  test('become AuthorizationErrors naming the operation asked for the kind of resource refused', () => {
    const asked = {
      topic: { operation: 'Write', resource: 'orders', pattern: 'literal' as const },
      group: { operation: 'Read', resource: 'g', pattern: 'literal' as const },
    };
    expect(authorizationError(kafka, refused('TOPIC_AUTHORIZATION_FAILED'), asked)).toMatchObject({
      operation: 'Write',
      resourceType: 'topic',
      resource: 'orders',
      principal: 'User:api',
    });
    expect(authorizationError(kafka, refused('GROUP_AUTHORIZATION_FAILED'), asked)).toMatchObject({ operation: 'Read', resourceType: 'group', resource: 'g' });
    // Inside kafkajs's retry wrapper, and inside createTopics's aggregate of per-topic errors.
    const wrapped = Object.assign(new Error('retries exceeded'), { originalError: refused('TOPIC_AUTHORIZATION_FAILED') });
    const aggregate = Object.assign(new Error('Topic creation errors'), {
      errors: [Object.assign(new Error('x'), { type: 'TOPIC_AUTHORIZATION_FAILED', topic: 'a' })],
    });
    expect(authorizationError(kafka, wrapped, asked)).toBeInstanceOf(AuthorizationError);
    expect(errorTypes(aggregate)).toEqual(['TOPIC_AUTHORIZATION_FAILED']);
    expect(authorizationError(kafka, aggregate, asked)).toBeInstanceOf(AuthorizationError);
  });

  test('anything else is not one, and a refusal is never retriable', () => {
    expect(authorizationError(kafka, refused('UNKNOWN_TOPIC_OR_PARTITION'), {})).toBeUndefined();
    expect(authorizationError(kafka, new Error('ECONNREFUSED'), {})).toBeUndefined();
    const e = authorizationError(kafka, refused('CLUSTER_AUTHORIZATION_FAILED'), {})!;
    expect(e).toMatchObject({ resourceType: 'cluster', retriable: false });
    expect(e.message).toContain('--cluster');
    expect(isRetriable(new TransportError('send failed', e))).toBe(false);
  });
});
