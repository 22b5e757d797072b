/**
 * Builds kafkajs clients. This folder (src/kafka) is the only place that
 * imports kafkajs, so that another client can be measured and swapped in.
 */
import { setPrincipal } from './authz';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';
import { checkKnownOptions } from '../known-options';

/** The names ConnectionOptions knows. */
const CONNECTION_OPTIONS = ['brokers', 'clientId', 'logLevel', 'logger', 'connectionTimeoutMs', 'requestTimeoutMs', 'tls', 'sasl'] as const;

const PASSWORD_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'];

/** TLS from the environment: KAFKA_TLS_CA_FILE (PEM) or KAFKA_TLS=true. */
function tlsFromEnv(env: NodeJS.ProcessEnv): boolean | TlsOptions {
  const caFile = env.KAFKA_TLS_CA_FILE?.trim();
  if (caFile) {
    try {
      return { ca: [readFileSync(caFile, 'utf8')] };
    } catch (e) {
      throw new ConfigError('KAFKA_TLS_CA_FILE', `cannot read ${caFile}: ${(e as Error).message}`);
    }
  }
  return env.KAFKA_TLS?.trim().toLowerCase() === 'true';
}

/** SASL from the environment: KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD. */
function saslFromEnv(env: NodeJS.ProcessEnv): SaslOptions | undefined {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  if (!mechanism) return undefined;
  if (!PASSWORD_MECHANISMS.includes(mechanism))
    throw new ConfigError(
      'KAFKA_SASL_MECHANISM',
      `must be one of ${PASSWORD_MECHANISMS.join(', ')} (others need code: connection.sasl), got ${JSON.stringify(mechanism)}`,
    );
  const username = env.KAFKA_SASL_USERNAME ?? '';
  const password = env.KAFKA_SASL_PASSWORD ?? '';
  if (!username || !password)
    throw new ConfigError('KAFKA_SASL_USERNAME', 'KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD must be set too');
  return { mechanism: mechanism as 'plain', username, password };
}

/** What is wrong with SASL options, naming the field (never its value: it may be a secret). */
function checkSasl(sasl: unknown, path: string): void {
  if (typeof sasl !== 'object' || sasl === null) throw new ConfigError(`${path}sasl`, 'must be an object with a mechanism');
  const s = sasl as Record<string, unknown>;
  if (typeof s.mechanism !== 'string') throw new ConfigError(`${path}sasl.mechanism`, `must be a string such as 'scram-sha-512'`);
  const m = s.mechanism.toLowerCase();
  if (PASSWORD_MECHANISMS.includes(m)) {
    for (const f of ['username', 'password'])
      if (typeof s[f] !== 'string' || (s[f] as string).length === 0) throw new ConfigError(`${path}sasl.${f}`, `must be a non-empty string for ${m}`);
  } else if (m === 'oauthbearer') {
    if (typeof s.oauthBearerProvider !== 'function')
      throw new ConfigError(`${path}sasl.oauthBearerProvider`, 'must be a function resolving to { value: token }');
  } else if (typeof s.authenticationProvider !== 'function') {
    throw new ConfigError(`${path}sasl`, `mechanism ${JSON.stringify(m)} needs an authenticationProvider (kafkajs's custom mechanism)`);
  }
}

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
  /**
   * TLS to the brokers: `true` trusts the system's certificate authorities;
   * an object adds your own (`ca`), a client certificate (`cert`, `key`,
   * `passphrase`) and a `servername`. Server names are checked
   * (`rejectUnauthorized` is true unless you turn it off).
   * Default: from `KAFKA_TLS_CA_FILE` (a PEM file) or `KAFKA_TLS=true` in the
   * environment, else none.
   */
  tls?: boolean | TlsOptions;
  /**
   * SASL authentication: PLAIN or SCRAM with a user and password,
   * OAUTHBEARER with a token provider, or any mechanism kafkajs takes with
   * an `authenticationProvider` (AWS IAM, for instance). Default: from
   * `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD`,
   * else none. Credentials are never written to a log or an error.
   */
  sasl?: SaslOptions;
}

/** TLS settings (a subset of Node's `tls.connect` options). */
export interface TlsOptions {
  /** Certificate authorities to trust (PEM), beside or instead of the system's. */
  ca?: string | Buffer | (string | Buffer)[];
  /** A client certificate (PEM), for brokers that authenticate clients by TLS. */
  cert?: string | Buffer;
  /** Its private key (PEM). */
  key?: string | Buffer;
  /** The key's passphrase. */
  passphrase?: string;
  /** The name to check the broker's certificate against, when it is not the host's. */
  servername?: string;
  /** Check the broker's certificate and name. Default: true. */
  rejectUnauthorized?: boolean;
}

/** SASL settings: a user and password, an OAUTHBEARER token provider, or a mechanism of your own. */
export type SaslOptions =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | {
      mechanism: 'oauthbearer';
      /** Resolves to a current token (`{ value }`); called at each connection and re-authentication. */
      oauthBearerProvider: () => Promise<{ value: string }>;
    }
  | {
      mechanism: string;
      /** A custom mechanism in kafkajs's shape (AWS IAM, for instance): see kafkajs's "Custom Authentication Mechanisms". */
      authenticationProvider: (...args: never[]) => unknown;
    };

export const DEFAULT_BROKER = '127.0.0.1:9092';

/** Brokers from `KAFKA_BROKERS` (comma separated), else the local broker. */
export function brokersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return [DEFAULT_BROKER];
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
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

const METHODS: Record<number, keyof Logger> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** An ERROR or WARN line repeated within this long (same component, same message) is logged at debug. */
const REPEAT_QUIET_MS = 10000;

/**
 * kafkajs's logCreator: each entry to `logger`, at its level or below. A
 * broker that is down makes every client that knew it log a connection
 * error per attempt (over a thousand lines in 40 s from four processes on a
 * three-node cluster): the first of each line goes out at its level, its
 * repeats within REPEAT_QUIET_MS at debug.
 */
function logTo(logger: Logger, configured: number) {
  const lastSaid = new Map<string, number>();
  const repeated = (namespace: string, log: LogEntry['log']): boolean => {
    const { error, broker } = log as { error?: unknown; broker?: unknown };
    const key = [namespace, log.message, String(error ?? ''), String(broker ?? '')].join('\u0000');
    const now = Date.now();
    const at = lastSaid.get(key);
    if (at !== undefined && now - at < REPEAT_QUIET_MS) return true;
    if (lastSaid.size >= 1000) lastSaid.clear();
    lastSaid.set(key, now);
    return false;
  };
  return () =>
    ({ namespace, level: given, log }: LogEntry) => {
      const loud = given <= KafkaLogLevel.WARN && given > KafkaLogLevel.NOTHING;
      const level = (given <= KafkaLogLevel.ERROR && isRetriedByKafkajs(namespace, log)) || (loud && repeated(namespace, log)) ? KafkaLogLevel.DEBUG : given;
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
export interface ResolvedConnection extends Required<Omit<ConnectionOptions, 'sasl'>> {
  sasl: SaslOptions | undefined;
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
  const brokersFrom =
    (options as Partial<ResolvedConnection>).brokersFrom ?? (options.brokers !== undefined ? 'connection.brokers' : fromEnv ? 'KAFKA_BROKERS' : 'default');
  const brokers = options.brokers ?? brokersFromEnv();
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || !/^[^\s:]+:\d+$/.test(b))) {
    throw new ConfigError(
      `${path}brokers`,
      `expected a non-empty list of "host:port"${fromEnv ? ' (from KAFKA_BROKERS, comma separated)' : ''}, got ${JSON.stringify(brokers)}`,
    );
  }
  const logLevel = options.logLevel ?? 'warn';
  if (!(logLevel in LEVELS)) throw new ConfigError(`${path}logLevel`, `must be one of ${Object.keys(LEVELS).join(', ')}`);
  const logger = options.logger ?? STDERR_LOGGER;
  if (typeof logger !== 'object' || logger === null || (['error', 'warn', 'info', 'debug'] as const).some((m) => typeof logger[m] !== 'function')) {
    throw new ConfigError(`${path}logger`, 'must have error, warn, info and debug methods (a pino logger, or console)');
  }
  const tls = options.tls ?? tlsFromEnv(process.env);
  if (typeof tls !== 'boolean' && (typeof tls !== 'object' || tls === null))
    throw new ConfigError(`${path}tls`, 'must be true, false or an object { ca, cert, key, passphrase, servername, rejectUnauthorized }');
  const sasl = options.sasl ?? saslFromEnv(process.env);
  if (sasl !== undefined) checkSasl(sasl, path);
  return {
    brokers,
    brokersFrom,
    clientId: options.clientId ?? 'kafka-fusion',
    logLevel,
    logger,
    tls,
    sasl,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30000,
  };
}

export function createKafka(connection: ResolvedConnection): Kafka {
  const config: KafkaConfig = {
    brokers: connection.brokers,
    clientId: connection.clientId,
    logLevel: LEVELS[connection.logLevel],
    logCreator: logTo(connection.logger, LEVELS[connection.logLevel]),
    connectionTimeout: connection.connectionTimeoutMs,
    ...(connection.tls !== false && { ssl: connection.tls as KafkaConfig['ssl'] }),
    ...(connection.sasl !== undefined && { sasl: connection.sasl as KafkaConfig['sasl'] }),
    requestTimeout: connection.requestTimeoutMs,
  };
  const kafka = new Kafka(config);
  // Kafka's principal for SCRAM is User:<name> (not a secret). For PLAIN,
  // managed services map an API key to another principal (and the key is
  // half a credential); for OAUTHBEARER and mTLS it depends on the broker.
  const sasl = connection.sasl as { mechanism?: string; username?: unknown } | undefined;
  if (sasl && /^scram-sha-(256|512)$/.test(String(sasl.mechanism)) && typeof sasl.username === 'string') setPrincipal(kafka, `User:${sasl.username}`);
  return kafka;
}
