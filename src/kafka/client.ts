/**
 * Builds kafkajs clients. This folder (src/kafka) is the only place that
 * imports kafkajs, so that another client can be measured and swapped in.
 */
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { ConfigError } from '../errors';
import { checkKnownOptions } from '../known-options';

/** The names ConnectionOptions knows. */
const CONNECTION_OPTIONS = ['brokers', 'clientId', 'logLevel', 'logger', 'connectionTimeoutMs', 'requestTimeoutMs'] as const;

/** How much of the Kafka client's log is written. */
export type LogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/**
 * Where the Kafka client's log goes: pino's shape (`logger.warn(fields,
 * message)`), which bunyan's shares; `console` fits too (winston's methods
 * take the message first: wrap them). Each line's fields name the client's component (`namespace`)
 * and what it reported.
 */
export interface Logger {
  /** Something failed that a person must look at. */
  error(fields: Record<string, unknown>, message: string): void;
  /** Something a person should know of. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** What the client did. */
  info(fields: Record<string, unknown>, message: string): void;
  /** Detail, including requests the client retries by itself. */
  debug(fields: Record<string, unknown>, message: string): void;
}

/** The default logger: one line per entry on stderr, `[kafkajs WARN] Namespace: message {fields}`. */
export const STDERR_LOGGER: Logger = Object.freeze({
  error: (fields: Record<string, unknown>, message: string) => writeLine('ERROR', fields, message),
  warn: (fields: Record<string, unknown>, message: string) => writeLine('WARN', fields, message),
  info: (fields: Record<string, unknown>, message: string) => writeLine('INFO', fields, message),
  debug: (fields: Record<string, unknown>, message: string) => writeLine('DEBUG', fields, message),
});

function writeLine(label: string, fields: Record<string, unknown>, message: string): void {
  const { namespace, ...extra } = fields;
  const detail = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  process.stderr.write(`[kafkajs ${label}] ${typeof namespace === 'string' && namespace ? `${namespace}: ` : ''}${message}${detail}\n`);
}

/** How to reach the Kafka cluster. */
export interface ConnectionOptions {
  /** Bootstrap brokers, `host:port`. @defaultValue `KAFKA_BROKERS` from the environment, else `127.0.0.1:9092` */
  brokers?: string[];
  /** Client id sent to the brokers. @defaultValue `kafka-fusion` */
  clientId?: string;
  /**
   * How much of the Kafka client's log is written: at `warn` (the default)
   * only what needs a person. Requests kafkajs retries by itself (a
   * "Response Metadata ... does not host this topic-partition" while a topic
   * is created or deleted) are logged at `debug`: a failure that lasts
   * reaches the caller as an error. @defaultValue `warn`
   */
  logLevel?: LogLevel;
  /** Where the log goes. @defaultValue `STDERR_LOGGER` (lines on stderr) */
  logger?: Logger;
  /** TCP connect timeout. @defaultValue 3000 */
  connectionTimeoutMs?: number;
  /** Request timeout. @defaultValue 30000 */
  requestTimeoutMs?: number;
}

export const DEFAULT_BROKER = '127.0.0.1:9092';

/** Brokers from `KAFKA_BROKERS` (comma separated), else the local broker. */
export function brokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return [DEFAULT_BROKER];
  return raw.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
}

const LEVELS: Record<LogLevel, KafkaLogLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

/**
 * What kafkajs logs as ERROR but handles itself: the error response to one
 * request (`Response Metadata(...)`, `Response JoinGroup(...)`...), which it
 * retries, and whose lasting failure reaches the caller as an error. Seen
 * while a return topic is created or deleted, while a broker restarts, and
 * when a group is dropped as it joins (UNKNOWN_MEMBER_ID during another
 * topic's deletion).
 */
function isRetriedByKafkajs(namespace: string, log: LogEntry['log']): boolean {
  return namespace === 'Connection' && log.message.startsWith('Response ');
}

const METHODS: Record<number, keyof Logger> = { [KafkaLogLevel.ERROR]: 'error', [KafkaLogLevel.WARN]: 'warn', [KafkaLogLevel.INFO]: 'info', [KafkaLogLevel.DEBUG]: 'debug' };

/** kafkajs's logCreator: each entry to `logger`, at its level or below. */
function logTo(logger: Logger, configured: number) {
  return () =>
    ({ namespace, level: given, log }: LogEntry) => {
      const level = given <= KafkaLogLevel.ERROR && isRetriedByKafkajs(namespace, log) ? KafkaLogLevel.DEBUG : given;
      if (level > configured) return;
      // kafkajs's own `timestamp` and `logger: 'kafkajs'` say nothing a logger does not.
      const { message, timestamp: _t, logger: _l, ...extra } = log as LogEntry['log'] & { logger?: unknown };
      try {
        logger[METHODS[level] ?? 'debug']({ namespace, ...extra }, message);
      } catch {
        // a logger that throws must not break the client
      }
    };
}

/** A connection with its defaults, and where its broker list came from (for errors that say so). */
export interface ResolvedConnection extends Required<ConnectionOptions> {
  /** `connection.brokers`, `KAFKA_BROKERS`, `default`, or a command-line option such as `--brokers`. */
  brokersFrom: string;
}

/** The connection with its defaults, checked; `path` prefixes the option names in a ConfigError (`connection.`). Resolving a resolved one changes nothing. */
export function resolveConnection(options: ConnectionOptions = {}, path = ''): ResolvedConnection {
  if (typeof options !== 'object' || options === null) throw new ConfigError(path.replace(/\.$/, '') || 'connection', 'must be an object');
  // `brokersFrom` is carried by a resolved connection (resolving one again keeps it), never given by a user.
  const { brokersFrom: _carried, ...given } = options as Partial<ResolvedConnection>;
  checkKnownOptions(given, CONNECTION_OPTIONS, path);
  const fromEnv = options.brokers === undefined && process.env.KAFKA_BROKERS?.trim();
  const brokersFrom = (options as Partial<ResolvedConnection>).brokersFrom ?? (options.brokers !== undefined ? 'connection.brokers' : fromEnv ? 'KAFKA_BROKERS' : 'default');
  const brokers = options.brokers ?? brokersFromEnv();
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || !/^[^\s:]+:\d+$/.test(b))) {
    throw new ConfigError(`${path}brokers`, `expected a non-empty list of "host:port"${fromEnv ? ' (from KAFKA_BROKERS, comma separated)' : ''}, got ${JSON.stringify(brokers)}`);
  }
  const logLevel = options.logLevel ?? 'warn';
  if (!(logLevel in LEVELS)) throw new ConfigError(`${path}logLevel`, `must be one of ${Object.keys(LEVELS).join(', ')}`);
  const logger = options.logger ?? STDERR_LOGGER;
  if (typeof logger !== 'object' || logger === null || (['error', 'warn', 'info', 'debug'] as const).some((m) => typeof logger[m] !== 'function')) {
    throw new ConfigError(`${path}logger`, 'must have error, warn, info and debug methods (a pino logger, or console)');
  }
  return {
    brokers,
    brokersFrom,
    clientId: options.clientId ?? 'kafka-fusion',
    logLevel,
    logger,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30000,
  };
}

export function createKafka(connection: Required<ConnectionOptions>): Kafka {
  const config: KafkaConfig = {
    brokers: connection.brokers,
    clientId: connection.clientId,
    logLevel: LEVELS[connection.logLevel],
    logCreator: logTo(connection.logger, LEVELS[connection.logLevel]),
    connectionTimeout: connection.connectionTimeoutMs,
    requestTimeout: connection.requestTimeoutMs,
  };
  return new Kafka(config);
}
