import fs from 'node:fs';
import path from 'node:path';
import { Subject } from 'rxjs';
import { ConfigError } from '../../src/errors';
import { REACTOR_DEFAULTS, resolveReactorOptions } from '../../src/reactor/options';
import { PIPELINE_DEFAULTS, resolvePipelineOptions, Pipeline } from '../../src/pipeline/pipeline';
import { brokersFromEnv, resolveConnection } from '../../src/kafka/client';
import { elements } from '../../src/reactor/reactor';
import { EPHEMERAL_TOPIC_PREFIX } from '../../src/naming';
import { StateError } from '../../src/errors';
import type { ReactorOutput } from '../../src/reactor/types';

const base = { mainTopic: 'orders', groupId: 'g' };

describe('Reactor options', () => {
  test('defaults fill what is not given (undefined counts as not given); the input is not mutated', () => {
    const input = { ...base, callTimeoutMs: undefined, drainTimeoutMs: 5 };
    const frozen = Object.freeze({ ...input });
    const o = resolveReactorOptions(frozen);
    expect(o.callTimeoutMs).toBe(REACTOR_DEFAULTS.callTimeoutMs);
    expect(o.drainTimeoutMs).toBe(5);
    expect(frozen).toEqual(input);
  });

  test('documented defaults (TSDoc @defaultValue) equal REACTOR_DEFAULTS, and the shared ones PIPELINE_DEFAULTS too', () => {
    const documentedIn = (file: string) =>
      [...fs.readFileSync(path.join(__dirname, '../../src', file), 'utf8').matchAll(/@defaultValue (\d+|true|false)\b[^*]*\*\/\n\s+(\w+)\?:/g)].map(
        (m) => [m[2], JSON.parse(m[1]!)] as const,
      );
    const own = documentedIn('reactor/options.ts');
    const shared = documentedIn('calls/caller.ts');
    expect(own.length + shared.length).toBeGreaterThanOrEqual(10);
    for (const [key, value] of [...own, ...shared]) expect([key, (REACTOR_DEFAULTS as Record<string, unknown>)[key]]).toEqual([key, value]);
    for (const [key, value] of shared) expect([key, (PIPELINE_DEFAULTS as Record<string, unknown>)[key]]).toEqual([key, value]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['a missing main topic', { groupId: 'g' }, 'mainTopic: must be a valid Kafka topic name, got undefined'],
    ['an invalid main topic', { ...base, mainTopic: 'has space' }, 'mainTopic: must be a valid Kafka topic name, got "has space"'],
    ['no group', { mainTopic: 't' }, 'groupId: must be a non-empty string'],
    ['a zero timeout', { ...base, callTimeoutMs: 0 }, 'callTimeoutMs: must be a positive number, got 0'],
    [
      'a callTimeoutMs longer than a timer can wait',
      { ...base, callTimeoutMs: 2 ** 31 },
      'callTimeoutMs: must be at most 2147483647 ms (about 24.8 days), got 2147483648',
    ],
    ['a fractional spareReturnTopics', { ...base, spareReturnTopics: 1.5 }, 'spareReturnTopics: must be a whole number, got 1.5'],
    [
      'a replication factor of 0',
      { ...base, returnTopicReplicationFactor: 0 },
      "returnTopicReplicationFactor: must be a whole number >= 1 (replicas per partition), or -1 for the brokers' default.replication.factor; got 0",
    ],
    ['a fractional dead-letter replication factor', { ...base, deadLetterReplicationFactor: 2.5 }, 'deadLetterReplicationFactor: must be a whole number >= 1'],
    ['a zero messageTimeoutMs', { ...base, messageTimeoutMs: 0 }, 'messageTimeoutMs: must be a positive number, got 0'],
    ['a bad prefix', { ...base, ephemeralTopicPrefix: 'a/b' }, 'ephemeralTopicPrefix: must be made of Kafka topic characters [a-zA-Z0-9._-]'],
    ['a subject that is not one', { ...base, subject: {} }, 'subject: must be an RxJS Subject'],
    ['a dead-letter topic that is the main topic', { ...base, deadLetterTopic: 'orders' }, 'deadLetterTopic: must differ from mainTopic'],
    ['a negative sweep interval', { ...base, sweepIntervalMs: -1 }, 'sweepIntervalMs: must be a number >= 0, got -1'],
    ['an invalid dead-letter topic', { ...base, deadLetterTopic: 'a b' }, 'deadLetterTopic: must be a valid Kafka topic name, got "a b"'],
    ['an allow-list that is not a list', { ...base, returnTopicAllowList: 'kafka-fusion.' }, 'returnTopicAllowList: must be an array'],
    [
      'an allow-list with an empty prefix (would allow every topic)',
      { ...base, returnTopicAllowList: [''] },
      'returnTopicAllowList: must be an array of topic prefixes (non-empty strings) and RegExps',
    ],
    ['interopHeaders that is not a boolean', { ...base, interopHeaders: 'yes' }, 'interopHeaders: must be true or false, got "yes"'],
    [
      'a codec given with the envelope format',
      { ...base, codec: { contentType: 'application/msgpack', encode: () => '', decode: () => 1 }, wire: 'envelope' },
      "wire: 'envelope' carries data as JSON inside the JSON envelope; codec application/msgpack needs wire 'headers'",
    ],
  ])('%s is a ConfigError naming the option', (_what, input, message) => {
    expect(() => resolveReactorOptions(input as never)).toThrow(new ConfigError('x', 'y').constructor as typeof ConfigError);
    expect(() => resolveReactorOptions(input as never)).toThrow(message);
  });

  test('dead-letter topic and allow-list defaults', () => {
    const o = resolveReactorOptions(base);
    expect(o.deadLetterTopic).toBe('orders.dlq');
    expect(o.returnTopicAllowList).toEqual(['kafka-fusion.reply.']);
    expect(REACTOR_DEFAULTS.returnTopicAllowList).toEqual([EPHEMERAL_TOPIC_PREFIX]);
  });

  test('a Subject is accepted', () => {
    expect(resolveReactorOptions<unknown, unknown>({ ...base, subject: new Subject<ReactorOutput>() }).subject).toBeInstanceOf(Subject);
  });

  test('elements() does no I/O; shutdown of a Reactor never started completes its Subject', async () => {
    const subject = new Subject<ReactorOutput>();
    let completed = false;
    subject.subscribe({ complete: () => (completed = true) });
    const els = elements({ ...base, subject, connection: { brokers: ['127.0.0.1:1'] } });
    expect(els.status).toBe('idle');
    await els.shutdown();
    expect(completed).toBe(true);
    await expect(
      els.start(
        () => undefined,
        () => 1,
      ),
    ).rejects.toThrow(StateError);
  });
});

describe('Pipeline options and state', () => {
  test('defaults and validation', () => {
    const resolved = resolvePipelineOptions();
    // The connection is resolved (and checked) with the options, not at start().
    expect({ ...resolved, connection: PIPELINE_DEFAULTS.connection }).toEqual(PIPELINE_DEFAULTS);
    expect(resolved.connection).toEqual(resolveConnection({}));
    expect(() => resolvePipelineOptions({ callTimeoutMs: -1 })).toThrow('callTimeoutMs: must be a positive number, got -1');
    expect(() => resolvePipelineOptions({ requestTimeoutMs: 5000 } as never)).toThrow(/^requestTimeoutMs: is now callTimeoutMs/);
  });

  test('methods before start() are StateErrors; bad topic names are ConfigErrors', async () => {
    const p = new Pipeline({ connection: { brokers: ['127.0.0.1:1'] } });
    await expect(p.request('t', 1)).rejects.toThrow('pipeline is idle; call start() first');
    await expect(p.send('t', 1)).rejects.toBeInstanceOf(StateError);
    await p.close();
    await expect(p.start()).rejects.toThrow('pipeline is stopped');
  });
});

describe('connection', () => {
  test('KAFKA_BROKERS decides the brokers; the default is the local broker', () => {
    expect(brokersFromEnv({ KAFKA_BROKERS: 'a:1, b:2' })).toEqual(['a:1', 'b:2']);
    expect(brokersFromEnv({})).toEqual(['127.0.0.1:9092']);
  });

  test('bad brokers are a ConfigError', () => {
    expect(() => resolveConnection({ brokers: ['nohost'] })).toThrow('brokers: expected a non-empty list of "host:port", got ["nohost"]');
    expect(() => resolveConnection({ brokers: [] })).toThrow(ConfigError);
  });
});

describe('unknown option names', () => {
  test('a Pipeline, a Reactor and a connection refuse an unknown option, naming the closest known one', () => {
    expect(() => new Pipeline({ timeoutMs: 5000 } as never)).toThrow(/^timeoutMs: is not an option; did you mean callTimeoutMs\? \(known: /);
    expect(() => elements({ mainTopic: 'm', groupId: 'g', callTimeout: 5 } as never)).toThrow(/^callTimeout: is not an option; did you mean callTimeoutMs\?/);
    expect(() => new Pipeline({ connection: { broker: ['127.0.0.1:9092'] } as never })).toThrow(
      /^connection\.broker: is not an option; did you mean connection\.brokers\?/,
    );
    expect(() => new Pipeline({ zzzzzz: 1 } as never)).toThrow(/^zzzzzz: is not an option \(known: /);
  });

  test('the check names the option with its path and the closest known one', async () => {
    const { checkKnownOptions } = await import('../../src/known-options');
    expect(() => checkKnownOptions({ timeout: 1 }, ['key', 'timeoutMs'], 'options.')).toThrow(
      'options.timeout: is not an option; did you mean options.timeoutMs? (known: key, timeoutMs)',
    );
    expect(() => checkKnownOptions({ key: 1, timeoutMs: 2 }, ['key', 'timeoutMs'])).not.toThrow();
  });
});

describe('connection security options', () => {
  const env = (vars: Record<string, string>, fn: () => void) => {
    const saved = { ...process.env };
    Object.assign(process.env, vars);
    try {
      fn();
    } finally {
      for (const k of Object.keys(vars)) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
    }
  };

  test('SASL and TLS from the environment; a bad mechanism or a missing password is a ConfigError that names no secret', () => {
    env({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 's3cret-in-env', KAFKA_TLS: 'true' }, () => {
      const c = resolveConnection({});
      expect(c.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 's3cret-in-env' });
      expect(c.tls).toBe(true);
    });
    env({ KAFKA_SASL_MECHANISM: 'gssapi' }, () =>
      expect(() => resolveConnection({})).toThrow(/^KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512/),
    );
    env({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc' }, () =>
      expect(() => resolveConnection({})).toThrow(
        'KAFKA_SASL_USERNAME: KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD must be set too',
      ),
    );
    env({ KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' }, () =>
      expect(() => resolveConnection({})).toThrow(/^KAFKA_TLS_CA_FILE: cannot read \/nonexistent\/ca\.pem/),
    );
    let message = '';
    try {
      resolveConnection({ sasl: { mechanism: 'plain', username: '', password: 'p4ss-w0rd' } }, 'connection.');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('connection.sasl.username: must be a non-empty string for plain');
    expect(() => resolveConnection({ sasl: { mechanism: 'oauthbearer' } as never })).toThrow(
      'sasl.oauthBearerProvider: must be a function resolving to { value: token }',
    );
    expect(resolveConnection({ sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: 't' }) } }).sasl!.mechanism).toBe('oauthbearer');
  });
});

describe('replyTopic (an operator-made instance reply topic)', () => {
  test('is taken in instance mode, and refused elsewhere or as a bad name, naming why', () => {
    expect(resolvePipelineOptions({ replyMode: 'instance', replyTopic: 'api-1.replies' }).replyTopic).toBe('api-1.replies');
    expect(resolveReactorOptions({ mainTopic: 'm', groupId: 'g', replyMode: 'instance', replyTopic: 'orders-1.replies' }).replyTopic).toBe('orders-1.replies');
    expect(() => resolvePipelineOptions({ replyTopic: 'api-1.replies' })).toThrow(
      new ConfigError('replyTopic', "is read only in replyMode 'instance'; set replyMode: 'instance' too"),
    );
    expect(() => resolveReactorOptions({ mainTopic: 'm', groupId: 'g', replyTopic: 'r' })).toThrow(/replyMode 'instance'/);
    expect(() => resolvePipelineOptions({ replyMode: 'instance', replyTopic: 'no spaces' })).toThrow(/replyTopic: must be a valid Kafka topic name/);
    expect(() => resolveReactorOptions({ mainTopic: 'm', groupId: 'g', replyMode: 'instance', replyTopic: 'm.dlq' })).toThrow(
      new ConfigError('replyTopic', 'must differ from mainTopic and deadLetterTopic'),
    );
  });
});
