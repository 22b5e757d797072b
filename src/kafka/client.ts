/**
 * Builds kafkajs clients. This folder (src/kafka) is the only place that
 * imports kafkajs, so that another client can be measured and swapped in.
 */
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { ConfigError } from '../errors';

/** How much of kafkajs' log reaches the console. */
export type LogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** How to reach the Kafka cluster. */
export interface ConnectionOptions {
  /** Bootstrap brokers, `host:port`. @defaultValue `KAFKA_BROKERS` from the environment, else `127.0.0.1:9092` */
  brokers?: string[];
  /** Client id sent to the brokers. @defaultValue `kafka-fusion` */
  clientId?: string;
  /** kafkajs log level. @defaultValue `error` */
  logLevel?: LogLevel;
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
 * Errors kafkajs logs as ERROR but handles itself. UNKNOWN_MEMBER_ID on a
 * JoinGroup: the broker drops a group that is still joining when another
 * topic is deleted at that moment (it cleans every group's offsets), and
 * kafkajs joins again at once; with return topics created ahead, a reply
 * listener joins while the previous call's topic is deleted, often enough
 * to fill a log.
 */
function isHandledByKafkajs(namespace: string, log: LogEntry['log']): boolean {
  return namespace === 'Connection' && log.message.startsWith('Response JoinGroup') && (log as { error?: unknown }).error === 'The coordinator is not aware of this member';
}

const LABELS: Record<number, string> = { [KafkaLogLevel.ERROR]: 'ERROR', [KafkaLogLevel.WARN]: 'WARN', [KafkaLogLevel.INFO]: 'INFO', [KafkaLogLevel.DEBUG]: 'DEBUG' };

function logCreator(configured: number) {
  return ({ namespace, level: given, log }: LogEntry) => {
    const level = given <= KafkaLogLevel.ERROR && isHandledByKafkajs(namespace, log) ? KafkaLogLevel.INFO : given;
    if (level > configured) return;
    const label = LABELS[level] ?? String(level);
    const { message, ...extra } = log;
    // kafkajs logs every retried request as ERROR; they are expected while a
    // broker restarts or a reply topic is being deleted, so keep them terse.
    const line = `[kafkajs ${label}] ${namespace}: ${message}`;
    const detail = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
    if (level <= KafkaLogLevel.ERROR) console.error(line + detail);
    else console.log(line + detail);
  };
}

/** The connection with its defaults, checked; `path` prefixes the option names in a ConfigError (`connection.`). */
export function resolveConnection(options: ConnectionOptions = {}, path = ''): Required<ConnectionOptions> {
  if (typeof options !== 'object' || options === null) throw new ConfigError(path.replace(/\.$/, '') || 'connection', 'must be an object');
  const fromEnv = options.brokers === undefined && process.env.KAFKA_BROKERS?.trim();
  const brokers = options.brokers ?? brokersFromEnv();
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || !/^[^\s:]+:\d+$/.test(b))) {
    throw new ConfigError(`${path}brokers`, `expected a non-empty list of "host:port"${fromEnv ? ' (from KAFKA_BROKERS, comma separated)' : ''}, got ${JSON.stringify(brokers)}`);
  }
  const logLevel = options.logLevel ?? 'error';
  if (!(logLevel in LEVELS)) throw new ConfigError(`${path}logLevel`, `must be one of ${Object.keys(LEVELS).join(', ')}`);
  return {
    brokers,
    clientId: options.clientId ?? 'kafka-fusion',
    logLevel,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30000,
  };
}

export function createKafka(connection: Required<ConnectionOptions>): Kafka {
  const config: KafkaConfig = {
    brokers: connection.brokers,
    clientId: connection.clientId,
    logLevel: LEVELS[connection.logLevel],
    logCreator,
    connectionTimeout: connection.connectionTimeoutMs,
    requestTimeout: connection.requestTimeoutMs,
  };
  return new Kafka(config);
}
