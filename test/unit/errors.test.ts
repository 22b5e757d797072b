import { Kafka } from 'kafkajs';
import { isRefusedForGood, isUnknownTopic, sendFailure } from '../../src/kafka/send-errors';
import * as errors from '../../src/errors';
import {
  CallTimeoutError,
  ConfigError,
  DeadlineError,
  DagCycleError,
  DagRunError,
  FusionError,
  isRetriable,
  ProtocolError,
  RemoteError,
  StateError,
  TransportError,
  UnknownDependencyError,
  UnknownTopicError,
  DagValidationError,
  toWireError,
  AuthorizationError,
} from '../../src/errors';

const samples: [string, FusionError, boolean][] = [
  ['ConfigError', new ConfigError('a.b', 'bad'), false],
  ['StateError', new StateError('closed'), false],
  ['DagValidationError', new DagValidationError('bad node', 'x'), false],
  ['DagCycleError', new DagCycleError(['a', 'b', 'a']), false],
  ['UnknownDependencyError', new UnknownDependencyError('a', 'z'), false],
  ['DagRunError', new DagRunError('n', new Error('x')), true],
  ['CallTimeoutError', new CallTimeoutError({ topic: 't', timeoutMs: 5 }), true],
  ['DeadlineError', new DeadlineError("main[0]@4: the DAG's", 0), false],
  ['RemoteError', new RemoteError('t', { name: 'E', message: 'm' }), false],
  ['ProtocolError', new ProtocolError('bad bytes'), false],
  ['TransportError', new TransportError('down', new Error('ECONNREFUSED')), true],
  ['UnknownTopicError', new UnknownTopicError('orders'), false],
  ['AuthorizationError', new AuthorizationError({ operation: 'Write', resourceType: 'topic', resource: 'orders', pattern: 'literal' }), false],
];

describe('error hierarchy', () => {
  test.each(samples)('%s: literal name, code equal to its static code, retriable flag, instanceof', (name, e, retriable) => {
    expect(e.name).toBe(name);
    expect(e).toBeInstanceOf(FusionError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe((e.constructor as typeof FusionError).code);
    expect(errors.ERROR_CODES).toContain(e.code);
    expect(e.retriable).toBe(retriable);
    expect(isRetriable(e)).toBe(retriable);
  });

  test('every exported error class is covered above', () => {
    const classes = Object.entries(errors)
      .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof FusionError)
      .map(([k]) => k);
    expect(classes.sort()).toEqual(samples.map(([n]) => n).sort());
  });

  test('messages carry their context', () => {
    expect(new CallTimeoutError({ topic: 'svc', timeoutMs: 250, node: 'n1' }).message).toBe('node "n1": no reply from topic "svc" within 250 ms');
    expect(new RemoteError('svc', { name: 'RangeError', message: 'nope' }, 'n1').message).toBe('node "n1" (topic "svc") replied with RangeError: nope');
    expect(new ConfigError('mainTopic', 'missing').message).toBe('mainTopic: missing');
    expect(
      new AuthorizationError(
        { operation: 'Create', resourceType: 'topic', resource: 'kafka-fusion.reply.', pattern: 'prefixed', principal: 'User:api' },
        'to create return topics',
      ).message,
    ).toBe(
      'not authorized: User:api may not Create topics named "kafka-fusion.reply.*" (to create return topics); the broker refused it and trying again will not help. ' +
        'An operator grants it with: kafka-acls --bootstrap-server <broker> --command-config <admin.properties> --add --allow-principal User:api --operation Create --topic kafka-fusion.reply. --resource-pattern-type prefixed (see docs/security.md)',
    );
    expect(new AuthorizationError({ operation: 'Read', resourceType: 'group', resource: 'orders', pattern: 'literal' }).message).toContain(
      'this client\'s principal may not Read group "orders"; ',
    );
    const late = new DeadlineError("main[0]@4: the DAG's", Date.UTC(2026, 10, 25), new DagRunError('b', new Error('aborted')));
    expect(late.message).toBe(`main[0]@4: the DAG's deadline 2026-11-25T00:00:00.000Z passed (DagRunError: node "b" failed: Error: aborted)`);
    expect(late.deadline).toBe(Date.UTC(2026, 10, 25));
  });

  test('isRetriable walks the cause chain and never retries programming errors', () => {
    expect(isRetriable(new TransportError('x', new ProtocolError('y')))).toBe(false);
    expect(isRetriable(new DagRunError('n', new CallTimeoutError({ topic: 't', timeoutMs: 1 })))).toBe(true);
    expect(isRetriable(new DagRunError('n', new RemoteError('t', { name: 'E', message: 'm' })))).toBe(false);
    expect(isRetriable(new TypeError('bug'))).toBe(false);
    expect(isRetriable(new Error('plain'))).toBe(true);
  });

  test('toWireError keeps name and message of anything thrown', () => {
    expect(toWireError(new RangeError('r'))).toEqual({ name: 'RangeError', message: 'r' });
    expect(toWireError('just a string')).toEqual({ name: 'Error', message: 'just a string' });
  });
});

describe('isUnknownTopic', () => {
  test('finds UNKNOWN_TOPIC_OR_PARTITION anywhere in the cause chain, and nothing else', () => {
    const kafkaError = Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const retries = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: kafkaError });
    expect(isUnknownTopic(new TransportError('could not send', retries))).toBe(true);
    expect(isUnknownTopic(new TransportError('could not send', new Error('connection refused')))).toBe(false);
    expect(isUnknownTopic(undefined)).toBe(false);
  });
});

describe('isRefusedForGood', () => {
  test('a record the broker refuses as it is (too large...) is for good; a connection error or a gone topic is not', () => {
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
      type: 'MESSAGE_TOO_LARGE',
    });
    expect(isRefusedForGood(new TransportError('could not send', Object.assign(new Error('wrapped'), { originalError: tooLarge })))).toBe(true);
    expect(isRefusedForGood(new TransportError('could not send', new Error('connection refused')))).toBe(false);
    expect(isRefusedForGood(Object.assign(new Error('gone'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' }))).toBe(false);
  });
});

describe('sendFailure: what the adapter makes of a failed write', () => {
  const kafka = new Kafka({ brokers: ['127.0.0.1:1'] });
  const kafkajs = (type: string, retriable = false) => Object.assign(new Error(type), { type, retriable });
  test.each<[string, Error, Record<string, unknown>]>([
    ['a gone topic', kafkajs('UNKNOWN_TOPIC_OR_PARTITION', true), { name: 'TransportError', reason: 'unknown-topic', retriable: true }],
    ['a record too large', kafkajs('MESSAGE_TOO_LARGE'), { name: 'TransportError', reason: 'too-large', retriable: false }],
    ['a record refused as it is', kafkajs('CORRUPT_MESSAGE'), { name: 'TransportError', reason: 'refused', retriable: false }],
    ['a missing ACL', kafkajs('TOPIC_AUTHORIZATION_FAILED'), { name: 'AuthorizationError', operation: 'Write', resource: 't', retriable: false }],
    ['a lost connection', new Error('Connection error: ECONNREFUSED'), { name: 'TransportError', reason: undefined, retriable: true }],
  ])('%s', (_what, cause, typed) => {
    expect(sendFailure(kafka, 't', cause, 'to write to it')).toMatchObject(typed);
  });
});
