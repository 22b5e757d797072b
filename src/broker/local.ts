/**
 * A real Apache Kafka broker for development, tests and the demo, without
 * Docker: Kafka's own jars from Maven Central (cached), one KRaft node
 * (broker + controller) on 127.0.0.1. Needs a JDK 17 and Maven on the PATH.
 * Shipped in the package: `npx kafka-fusion broker up|down|status|restart`
 * runs it, as does `tsx scripts/broker.ts` in a source checkout.
 *
 *   broker up       start, or reuse the running broker; returns when it is ready
 *   broker down     stop it and remove its data
 *   broker status   say whether it runs and answers
 *   broker restart [--kill] [--down-for <s>]
 *                                  stop it (cleanly, or SIGKILL) and start it again on the same data,
 *                                  after <s> seconds away if given (an outage longer than clients' retries)
 *
 * Environment:
 *   KAFKA_BROKERS          use this cluster instead; `up` only checks that it answers
 *   KAFKA_VERSION          broker version (default 3.9.2; 4.x supported)
 *   KAFKA_PORT             client port (default 9092); controller port is KAFKA_PORT + 1
 *   KAFKA_FUSION_CACHE     where jars are cached (default ~/.cache/kafka-fusion)
 *   KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS   default 0 here; Kafka's own default is 3000
 *                          (set it to 3000 to measure what a default broker costs)
 *   KAFKA_SASL_SSL_PORT    also listen with SASL_SSL (SCRAM-SHA-512) on this port: a certificate
 *                          authority and the broker's certificate are made with the JDK's keytool
 *                          (the CA's PEM is <state>/<port>/tls/ca.pem), users from KAFKA_SCRAM_USERS,
 *                          and Kafka's StandardAuthorizer: a SCRAM user may do only what ACLs grant,
 *                          the plaintext listener (User:ANONYMOUS) stays the operator's, with every right
 *   KAFKA_SCRAM_USERS      name:password,... created at start (default kafka-fusion:kafka-fusion-secret)
 *   KAFKA_SUPER_USERS      SCRAM users that hold every right, as name,... (default kafka-fusion)
 *
 *   KAFKA_FUSION_STATE     where a broker's state and data live (default ~/.cache/kafka-fusion/brokers;
 *                          a source checkout's scripts/broker.ts uses its .kafka/)
 *
 * Each port has its own state under <state>/<port>/, so brokers of two
 * versions (or settings) can run side by side on different KAFKA_PORTs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { probeBroker } from '../kafka/topic-tools';
import { makeCertificates, scramUsers, STORE_PASSWORD, superUsers } from './secured';

const VERSION = process.env.KAFKA_VERSION ?? '3.9.2';
const PORT = Number(process.env.KAFKA_PORT ?? 9092);
const CACHE = process.env.KAFKA_FUSION_CACHE ?? path.join(os.homedir(), '.cache', 'kafka-fusion');
/** One place per user, whatever the current directory (a source checkout keeps its own: scripts/broker.ts). */
const STATE_ROOT = path.resolve(process.env.KAFKA_FUSION_STATE ?? path.join(CACHE, 'brokers'));
const STATE_DIR = path.join(STATE_ROOT, String(PORT));
const STATE_FILE = path.join(STATE_DIR, 'broker.json');
const REBALANCE_DELAY_MS = Number(process.env.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS ?? 0);
const SASL_SSL_PORT = process.env.KAFKA_SASL_SSL_PORT ? Number(process.env.KAFKA_SASL_SSL_PORT) : undefined;
const TLS_DIR = path.join(STATE_DIR, 'tls');
const CONTROLLER_PORT = PORT + 1;
const READY_TIMEOUT_MS = 120_000;

interface BrokerState {
  pid: number;
  version: string;
  port: number;
  dataDir: string;
  logFile: string;
  startedAt: string;
}

function log(msg: string): void {
  console.log(`[kafka] ${msg}`);
}

function isV3(version: string): boolean {
  return version.startsWith('3.');
}

/** The SLF4J 1.x binding Kafka itself ships for this version (see shared/kafka-from-maven.md). */
function loggingDeps(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version><scope>runtime</scope></dependency>`;
  if (isV3(version)) return dep('org.slf4j', 'slf4j-reload4j', '1.7.36') + dep('ch.qos.reload4j', 'reload4j', '1.2.25');
  const log4j = /^4\.(0\.[01]|1\.[01])$/.test(version) ? '2.24.3' : /^4\.(0\.2|1\.2)$/.test(version) ? '2.25.3' : '2.25.4';
  return dep('org.apache.logging.log4j', 'log4j-slf4j-impl', log4j) + dep('org.apache.logging.log4j', 'log4j-core', log4j);
}

function pom(version: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka-fusion</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    ${loggingDeps(version)}
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
  </plugin></plugins></build>
</project>
`;
}

/** Jars for `version`, fetched once into the cache. Returns the libs directory. */
function ensureJars(version: string): string {
  const dir = path.join(CACHE, `kafka-${version}`);
  const libs = path.join(dir, 'libs');
  const marker = path.join(libs, '.complete');
  if (fs.existsSync(marker)) return libs;
  log(`fetching Apache Kafka ${version} broker jars from Maven Central into ${libs} (first time only; can take minutes)`);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(libs, { recursive: true, force: true }); // stale jars of a half-done fetch would join the classpath
  fs.writeFileSync(path.join(dir, 'pom.xml'), pom(version));
  const started = Date.now();
  const r = spawnSync(
    'mvn',
    ['-B', '-q', '-f', path.join(dir, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`],
    {
      stdio: 'inherit',
    },
  );
  if (r.error) throw new Error(`could not run mvn (is Maven installed?): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with exit code ${r.status}; see the output above`);
  const jars = fs.readdirSync(libs).filter((f) => f.endsWith('.jar'));
  const bindings = jars.filter((j) => /^(slf4j-reload4j|log4j-slf4j-impl)-/.test(j));
  if (bindings.length !== 1) throw new Error(`expected exactly one SLF4J binding in ${libs}, found: ${bindings.join(', ') || 'none'}`);
  fs.writeFileSync(marker, `${version}\n`);
  log(`fetched ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libs;
}

function serverProperties(dataDir: string): string {
  const secured = SASL_SSL_PORT === undefined ? '' : `,SASL_SSL://127.0.0.1:${SASL_SSL_PORT}`;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}`,
    `listeners=PLAINTEXT://127.0.0.1:${PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}${secured}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${PORT}${secured}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${SASL_SSL_PORT === undefined ? '' : ',SASL_SSL:SASL_SSL'}`,
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // A new consumer group would otherwise wait 3 s for more members before
    // its first assignment; every ephemeral reply listener is a new group.
    `group.initial.rebalance.delay.ms=${REBALANCE_DELAY_MS}`,
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    ...(SASL_SSL_PORT === undefined
      ? []
      : [
          'sasl.enabled.mechanisms=SCRAM-SHA-512',
          // ACLs are checked; the plaintext and controller listeners'
          // principal (ANONYMOUS) is the operator, as are KAFKA_SUPER_USERS.
          'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          `super.users=${['ANONYMOUS', ...superUsers()].map((u) => `User:${u}`).join(';')}`,
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          `listener.name.sasl_ssl.ssl.keystore.location=${path.join(TLS_DIR, 'broker.p12')}`,
          `listener.name.sasl_ssl.ssl.keystore.password=${STORE_PASSWORD}`,
          'listener.name.sasl_ssl.ssl.keystore.type=PKCS12',
        ]),
    '',
  ].join('\n');
}

const LOG4J1 = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.zookeeper=WARN
`;

const LOG4J2 = `status = warn
name = KafkaBrokerLogging
appender.console.type = Console
appender.console.name = STDOUT
appender.console.target = SYSTEM_OUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
`;

function logOption(version: string, dir: string): string {
  return isV3(version)
    ? `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`
    : `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`;
}

function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function readState(): BrokerState | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as BrokerState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const brokers = () => [`127.0.0.1:${PORT}`];

async function up(): Promise<void> {
  if (process.env.KAFKA_BROKERS) {
    log(`KAFKA_BROKERS=${process.env.KAFKA_BROKERS}: using that cluster, no local broker`);
    const r = await probeBroker({}, 30_000);
    log(`cluster answers (${r.brokers} broker(s))`);
    return;
  }
  const state = readState();
  if (state && alive(state.pid)) {
    if (state.version !== VERSION) log(`note: the running broker is ${state.version}, not KAFKA_VERSION=${VERSION}; run kafka:down first to switch`);
    const r = await probeBroker({ brokers: brokers() }, 30_000);
    log(`reusing running broker ${state.version} on 127.0.0.1:${state.port} (pid ${state.pid}; answered in ${r.elapsedMs} ms)`);
    return;
  }
  if (await portOpen(PORT)) {
    throw new Error(`port ${PORT} is in use by something this script did not start; stop it, set KAFKA_PORT, or set KAFKA_BROKERS to use it`);
  }
  const started = Date.now();
  const libs = ensureJars(VERSION);
  fs.mkdirSync(STATE_DIR, { recursive: true });
  if (state) fs.rmSync(state.dataDir, { recursive: true, force: true });
  const dataDir = fs.mkdtempSync(path.join(STATE_DIR, 'data-'));
  const props = path.join(STATE_DIR, 'server.properties');
  fs.writeFileSync(props, serverProperties(dataDir));
  fs.writeFileSync(path.join(STATE_DIR, 'log4j.properties'), LOG4J1);
  fs.writeFileSync(path.join(STATE_DIR, 'log4j2.properties'), LOG4J2);
  const logOpt = logOption(VERSION, STATE_DIR);
  const cp = path.join(libs, '*');
  const scram = SASL_SSL_PORT === undefined ? [] : scramUsers().flatMap(([name, password]) => ['-S', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
  if (SASL_SSL_PORT !== undefined) makeCertificates(TLS_DIR);
  const fmt = spawnSync(
    'java',
    [logOpt, `-Dkafka.logs.dir=${STATE_DIR}`, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props, ...scram],
    { encoding: 'utf8' },
  );
  if (fmt.error) throw new Error(`could not run java (is a JDK 17 installed?): ${fmt.error.message}`);
  if (fmt.status !== 0) throw new Error(`StorageTool format failed (${fmt.status}): ${fmt.stderr}${fmt.stdout}`);
  await launch(VERSION, dataDir, started, 'w');
}

/** Start the broker on formatted storage and wait until it is ready. */
async function launch(version: string, dataDir: string, started: number, logMode: 'w' | 'a'): Promise<void> {
  const libs = ensureJars(version);
  const props = path.join(STATE_DIR, 'server.properties');
  const logOpt = logOption(version, STATE_DIR);
  const cp = path.join(libs, '*');
  const logFile = path.join(STATE_DIR, 'broker.log');
  const out = fs.openSync(logFile, logMode);
  const child = spawn(
    'java',
    [
      '-Xms512m',
      '-Xmx1g',
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      logOpt,
      `-Dkafka.logs.dir=${STATE_DIR}`,
      '-cp',
      cp,
      'kafka.Kafka',
      props,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error('java did not start');
  const pid = child.pid;
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.unref();
  const next: BrokerState = { pid, version, port: PORT, dataDir, logFile, startedAt: new Date().toISOString() };
  fs.writeFileSync(STATE_FILE, JSON.stringify(next, null, 2));
  log(`starting Kafka ${version} (pid ${pid}) on 127.0.0.1:${PORT}, log ${path.relative(process.cwd(), logFile)}`);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await portOpen(PORT))) {
    if (exited !== undefined || !alive(pid)) throw new Error(`broker exited (code ${exited}) before it was ready; last lines of its log:\n${tail(logFile)}`);
    if (Date.now() > deadline) throw new Error(`broker port ${PORT} not open after ${READY_TIMEOUT_MS / 1000} s; last log lines:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await probeBroker({ brokers: brokers() }, Math.max(5000, deadline - Date.now()));
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (SASL_SSL_PORT !== undefined) log(`SASL_SSL (SCRAM-SHA-512) on 127.0.0.1:${SASL_SSL_PORT}; its CA: ${path.join(TLS_DIR, 'ca.pem')} (KAFKA_TLS_CA_FILE)`);
}

/** Stop the broker process (SIGTERM, or SIGKILL as a crash) and wait until it is gone. */
async function stopProcess(pid: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, signal);
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(pid)) {
    log(`broker did not stop within 30 s; killing pid ${pid}`);
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Stop the local broker and start it again on the same data: topics,
 * messages and groups survive, as in a real broker restart. `--kill` stops it
 * with SIGKILL (a crash) instead of a clean shutdown; `downForMs` keeps it
 * away that long before it starts again.
 */
async function restart(kill: boolean, downForMs: number): Promise<void> {
  if (process.env.KAFKA_BROKERS) throw new Error('KAFKA_BROKERS is set: restart only restarts the local broker this script started');
  const state = readState();
  if (!state) throw new Error(`no local broker on port ${PORT} to restart; run up first`);
  const started = Date.now();
  await stopProcess(state.pid, kill ? 'SIGKILL' : 'SIGTERM');
  log(
    `stopped broker (pid ${state.pid}, ${kill ? 'SIGKILL' : 'SIGTERM'}) after ${Date.now() - started} ms; ` +
      `starting it again on the same data${downForMs > 0 ? ` in ${downForMs / 1000} s` : ''}`,
  );
  if (downForMs > 0) await new Promise((resolve) => setTimeout(resolve, downForMs));
  await launch(state.version, state.dataDir, started, 'a');
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    log('no local broker was started by this project');
    return;
  }
  if (alive(state.pid)) {
    await stopProcess(state.pid, 'SIGTERM');
    log(`stopped broker (pid ${state.pid})`);
  } else {
    log(`broker pid ${state.pid} was not running`);
  }
  fs.rmSync(state.dataDir, { recursive: true, force: true });
  fs.rmSync(STATE_FILE, { force: true });
}

async function status(): Promise<boolean> {
  if (process.env.KAFKA_BROKERS) {
    try {
      await probeBroker({}, 5000, { groups: false });
      log(`KAFKA_BROKERS=${process.env.KAFKA_BROKERS} answers`);
      return true;
    } catch (e) {
      log(`KAFKA_BROKERS=${process.env.KAFKA_BROKERS} does not answer: ${(e as Error).message}`);
      return false;
    }
  }
  const state = readState();
  if (!state || !alive(state.pid)) {
    log('local broker: not running');
    return false;
  }
  try {
    const r = await probeBroker({ brokers: brokers() }, 5000, { groups: false });
    log(`local broker: Kafka ${state.version} on 127.0.0.1:${state.port}, pid ${state.pid}, since ${state.startedAt}, answers (${r.elapsedMs} ms)`);
    return true;
  } catch (e) {
    log(`local broker: pid ${state.pid} runs but does not answer: ${(e as Error).message}`);
    return false;
  }
}

/** `--down-for <s>` of restart, in ms (0 without it). */
function downFor(args: string[]): number {
  const i = args.indexOf('--down-for');
  if (i < 0) return 0;
  const s = Number(args[i + 1]);
  if (!Number.isFinite(s) || s < 0) throw new Error(`--down-for needs a number of seconds, not ${JSON.stringify(args[i + 1])}`);
  return s * 1000;
}

/** The actions `runBroker` takes. */
export const BROKER_ACTIONS = ['up', 'down', 'status', 'restart'] as const;

/**
 * Run one action (`up`, `down`, `status`, `restart [--kill] [--down-for <s>]`);
 * resolves to an exit code (failures are printed). The caller should exit
 * with it: a client socket kafkajs leaves behind must not keep it waiting.
 */
export async function runBroker(args: string[]): Promise<number> {
  const cmd = args[0];
  try {
    if (cmd === 'up') await up();
    else if (cmd === 'down') await down();
    else if (cmd === 'status') return (await status()) ? 0 : 1;
    else if (cmd === 'restart') await restart(args.includes('--kill'), downFor(args));
    else {
      console.error('usage: broker up|down|status|restart [--kill] [--down-for <s>]');
      return 2;
    }
    return 0;
  } catch (e) {
    console.error(`[kafka] ${(e as Error).message}`);
    return 1;
  }
}
