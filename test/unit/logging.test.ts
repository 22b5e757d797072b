/**
 * The Kafka client's log goes to the connection's logger, quiet by default:
 * kafkajs's error responses to single requests, which it retries itself,
 * are debug lines; what needs a person stays at its level.
 */
import { ConfigError } from '../../src/errors';
import { createKafka, resolveConnection, type Logger, type LogLevel } from '../../src/kafka/client';

function capture(logLevel?: LogLevel) {
  const lines: [keyof Logger, Record<string, unknown>, string][] = [];
  const logger: Logger = {
    error: (f, m) => void lines.push(['error', f, m]),
    warn: (f, m) => void lines.push(['warn', f, m]),
    info: (f, m) => void lines.push(['info', f, m]),
    debug: (f, m) => void lines.push(['debug', f, m]),
  };
  const kafka = createKafka(resolveConnection({ brokers: ['127.0.0.1:1'], logger, ...(logLevel && { logLevel }) }));
  return { lines, log: kafka.logger() };
}

test('by default (warn) a retried request error is not written; a real error is, with its namespace and fields', () => {
  const { lines, log } = capture();
  log.namespace('Connection').error('Response Metadata(key: 3, version: 6)', { error: 'This server does not host this topic-partition', correlationId: 7 });
  log.namespace('Consumer').error('Crash: KafkaJSNumberOfRetriesExceeded', { groupId: 'g', retryCount: 5 });
  log.namespace('Consumer').info('Starting', { groupId: 'g' });
  expect(lines).toEqual([['error', { namespace: 'Consumer', groupId: 'g', retryCount: 5 }, 'Crash: KafkaJSNumberOfRetriesExceeded']]);
});

test('at debug, a retried request error is a debug line', () => {
  const { lines, log } = capture('debug');
  log.namespace('Connection').error('Response JoinGroup(key: 11, version: 5)', { error: 'The coordinator is not aware of this member' });
  expect(lines).toEqual([
    ['debug', { namespace: 'Connection', error: 'The coordinator is not aware of this member' }, 'Response JoinGroup(key: 11, version: 5)'],
  ]);
});

test('a logger that throws does not break the client; a logger without the four methods is a ConfigError', () => {
  const throwing = {
    error: () => {
      throw new Error('disk full');
    },
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
  };
  const log = createKafka(resolveConnection({ brokers: ['127.0.0.1:1'], logger: throwing })).logger();
  expect(() => log.namespace('Consumer').error('Crash', {})).not.toThrow();
  expect(() => resolveConnection({ logger: { error: () => undefined } as never }, 'connection.')).toThrow(
    new ConfigError('connection.logger', 'must have error, warn, info and debug methods (a pino logger, or console)'),
  );
});

test('a line repeated within 10 s (a broker that is down, tried again and again) goes out once at its level, its repeats at debug', () => {
  const { lines, log } = capture('debug');
  for (let i = 0; i < 50; i++) log.namespace('Connection').error('Connection error: connect ECONNREFUSED 127.0.0.1:19092', { broker: '127.0.0.1:19092' });
  log.namespace('Connection').error('Connection error: connect ECONNREFUSED 127.0.0.1:19093', { broker: '127.0.0.1:19093' });
  expect(lines.filter(([level]) => level === 'error').map(([, , m]) => m)).toEqual([
    'Connection error: connect ECONNREFUSED 127.0.0.1:19092',
    'Connection error: connect ECONNREFUSED 127.0.0.1:19093',
  ]);
  expect(lines.filter(([level]) => level === 'debug')).toHaveLength(49);
});

test('the same line with another error or broker is not a repeat: it goes out at its level', () => {
  const { lines, log } = capture();
  log.namespace('Producer').error('Failed to send messages', { error: 'NOT_LEADER_OR_FOLLOWER', broker: '127.0.0.1:9092' });
  log.namespace('Producer').error('Failed to send messages', { error: 'MESSAGE_TOO_LARGE', broker: '127.0.0.1:9092' });
  log.namespace('Producer').error('Failed to send messages', { error: 'MESSAGE_TOO_LARGE', broker: '127.0.0.1:9092' });
  expect(lines.filter(([level]) => level === 'error').map(([, f]) => f.error)).toEqual(['NOT_LEADER_OR_FOLLOWER', 'MESSAGE_TOO_LARGE']);
});
