/**
 * A real Apache Kafka broker for development, tests and the demo, without
 * Docker: Kafka's own jars from Maven Central (cached), one KRaft node
 * (broker + controller) on 127.0.0.1, or a cluster of N such nodes
 * (`--nodes 3`). Needs a JDK 17 and Maven on the PATH.
 * Shipped in the package: `npx kafka-fusion broker up|down|status|restart`
 * runs it, as does `tsx scripts/broker.ts` in a source checkout.
 *
 *   broker up [--nodes N]   start, or reuse the running broker (or cluster of N nodes); returns when it is ready
 *   broker down             stop it (every node) and remove its data
 *   broker status           say whether it runs and answers (each node)
 *   broker restart [--kill] [--down-for <s>] [--node <id>]
 *                           stop it (cleanly, or SIGKILL) and start it again on the same data,
 *                           after <s> seconds away if given (an outage longer than clients' retries);
 *                           with --node, only that node of a cluster
 *   broker stop --node <id> [--kill]    stop one node of a cluster and leave it stopped
 *   broker start --node <id>            start a stopped node again on its data
 *
 * Environment:
 *   KAFKA_BROKERS          use this cluster instead; `up` only checks that it answers
 *   KAFKA_VERSION          broker version (default 3.9.2; 4.x supported)
 *   KAFKA_PORT             client port (default 9092); controller port is KAFKA_PORT + 1. A cluster of
 *                          N nodes takes client ports KAFKA_PORT .. KAFKA_PORT+N-1 (node ids 1..N) and
 *                          controller ports KAFKA_PORT+N .. KAFKA_PORT+2N-1
 *   KAFKA_NODES            nodes of `up` when --nodes is not given (default 1)
 *   KAFKA_FUSION_CACHE     where jars are cached (default ~/.cache/kafka-fusion)
 *   KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS   default 0 on one node; Kafka's own default is 3000
 *                          (set it to 3000 to measure what a default broker costs). A cluster keeps
 *                          Kafka's defaults (3000 here too) except what N nodes need: internal and new
 *                          topics replicated min(N, 3) times, min.insync.replicas min(N, 2)
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
import { deleteTopicsByPrefix, probeBroker } from '../kafka/topic-tools';
import { LIBRARY_TOPIC_PREFIX } from '../naming';
import { makeCertificates, scramUsers, STORE_PASSWORD, superUsers } from './secured';

const VERSION = process.env.KAFKA_VERSION ?? '3.9.2';
const PORT = Number(process.env.KAFKA_PORT ?? 9092);
const CACHE = process.env.KAFKA_FUSION_CACHE ?? path.join(os.homedir(), '.cache', 'kafka-fusion');
/** One place per user, whatever the current directory (a source checkout keeps its own: scripts/broker.ts). */
const STATE_ROOT = path.resolve(process.env.KAFKA_FUSION_STATE ?? path.join(CACHE, 'brokers'));
const STATE_DIR = path.join(STATE_ROOT, String(PORT));
const STATE_FILE = path.join(STATE_DIR, 'broker.json');
const NODES_FROM_ENV = Number(process.env.KAFKA_NODES ?? 1);
const REBALANCE_DELAY_ENV = process.env.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS;
const SASL_SSL_PORT = process.env.KAFKA_SASL_SSL_PORT ? Number(process.env.KAFKA_SASL_SSL_PORT) : undefined;
const TLS_DIR = path.join(STATE_DIR, 'tls');
const READY_TIMEOUT_MS = 120_000;

/** One KRaft node (broker and controller) of the local cluster. */
interface NodeState {
  id: number;
  pid: number;
  port: number;
  controllerPort: number;
  /** Its directory: server.properties and broker.log (a single node keeps them in the state directory itself). */
  dir: string;
  dataDir: string;
  logFile: string;
}

/** broker.json. `pid`, `dataDir` and `logFile` are node 1's (what a single-node reader such as bench/churn-health.ts looks at). */
interface BrokerState {
  pid: number;
  version: string;
  port: number;
  dataDir: string;
  logFile: string;
  startedAt: string;
  nodes?: NodeState[];
}

/** The nodes of a state written before clusters existed: the one node. */
function nodesOf(state: BrokerState): NodeState[] {
  return (
    state.nodes ?? [{ id: 1, pid: state.pid, port: state.port, controllerPort: state.port + 1, dir: STATE_DIR, dataDir: state.dataDir, logFile: state.logFile }]
  );
}

/** The layout of node `id` of `count`: ports and directory. */
function layout(id: number, count: number): Pick<NodeState, 'id' | 'port' | 'controllerPort' | 'dir'> {
  return {
    id,
    port: PORT + id - 1,
    controllerPort: PORT + count + id - 1,
    dir: count === 1 ? STATE_DIR : path.join(STATE_DIR, `node-${id}`),
  };
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

function serverProperties(node: Pick<NodeState, 'id' | 'port' | 'controllerPort'>, count: number, dataDir: string): string {
  const secured = SASL_SSL_PORT === undefined ? '' : `,SASL_SSL://127.0.0.1:${SASL_SSL_PORT}`;
  const voters = Array.from({ length: count }, (_, i) => `${i + 1}@127.0.0.1:${layout(i + 1, count).controllerPort}`).join(',');
  const replicas = Math.min(count, 3);
  const minIsr = Math.min(count, 2);
  // One node: a new group's first assignment waits nothing (the tests start
  // hundreds of groups). A cluster keeps Kafka's 3 s unless told otherwise.
  const rebalanceDelayMs = Number(REBALANCE_DELAY_ENV ?? (count === 1 ? 0 : 3000));
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}${secured}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}${secured}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${SASL_SSL_PORT === undefined ? '' : ',SASL_SSL:SASL_SSL'}`,
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    `offsets.topic.replication.factor=${replicas}`,
    // One node: one partition is made at once; a cluster keeps Kafka's 50.
    ...(count === 1 ? ['offsets.topic.num.partitions=1'] : []),
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    ...(count === 1 ? [] : [`default.replication.factor=${replicas}`, `min.insync.replicas=${minIsr}`]),
    `group.initial.rebalance.delay.ms=${rebalanceDelayMs}`,
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
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

/** Client addresses of the nodes. */
const addresses = (nodes: Pick<NodeState, 'port'>[]) => nodes.map((n) => `127.0.0.1:${n.port}`);

function writeState(state: BrokerState): void {
  const [first] = nodesOf(state);
  fs.writeFileSync(STATE_FILE, JSON.stringify({ ...state, pid: first!.pid, dataDir: first!.dataDir, logFile: first!.logFile }, null, 2));
}

/** How many nodes `up` starts: --nodes N, else KAFKA_NODES, else 1. */
function nodeCount(args: string[]): number {
  const i = args.indexOf('--nodes');
  const n = i < 0 ? NODES_FROM_ENV : Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 9)
    throw new Error(`--nodes (or KAFKA_NODES) must be a whole number from 1 to 9, got ${JSON.stringify(i < 0 ? process.env.KAFKA_NODES : args[i + 1])}`);
  return n;
}

/** --node <id> of restart, stop and start: a node of the running cluster. */
function nodeArg(args: string[], state: BrokerState, required: boolean): NodeState | undefined {
  const i = args.indexOf('--node');
  if (i < 0) {
    if (required) throw new Error('--node <id> is needed: which node (1..N) to act on');
    return undefined;
  }
  const id = Number(args[i + 1]);
  const node = nodesOf(state).find((n) => n.id === id);
  if (!node)
    throw new Error(
      `--node ${args[i + 1]}: no such node; the cluster has nodes ${nodesOf(state)
        .map((n) => n.id)
        .join(', ')}`,
    );
  return node;
}

async function up(count: number): Promise<void> {
  if (process.env.KAFKA_BROKERS) {
    log(`KAFKA_BROKERS=${process.env.KAFKA_BROKERS}: using that cluster, no local broker`);
    const r = await probeBroker({}, 30_000);
    log(`cluster answers (${r.brokers} broker(s))`);
    return;
  }
  const state = readState();
  if (state && nodesOf(state).some((n) => alive(n.pid))) {
    const nodes = nodesOf(state);
    if (state.version !== VERSION) log(`note: the running broker is ${state.version}, not KAFKA_VERSION=${VERSION}; run kafka:down first to switch`);
    if (nodes.length !== count) log(`note: the running cluster has ${nodes.length} node(s), not ${count}; run kafka:down first to change that`);
    for (const n of nodes.filter((x) => !alive(x.pid))) await launch(state, n, Date.now(), 'a');
    const r = await probeBroker({ brokers: addresses(nodes) }, 90_000);
    log(
      `reusing running ${nodes.length === 1 ? 'broker' : `cluster of ${nodes.length} nodes`} ${state.version} ` +
        `on ${addresses(nodes).join(',')} (answered in ${r.elapsedMs} ms)`,
    );
    return;
  }
  if (SASL_SSL_PORT !== undefined && count > 1) throw new Error('KAFKA_SASL_SSL_PORT is for a single node: start the secured broker without --nodes');
  const planned = Array.from({ length: count }, (_, i) => layout(i + 1, count));
  for (const n of planned)
    for (const port of [n.port, n.controllerPort])
      if (await portOpen(port))
        throw new Error(`port ${port} is in use by something this script did not start; stop it, set KAFKA_PORT, or set KAFKA_BROKERS to use it`);
  const started = Date.now();
  const libs = ensureJars(VERSION);
  fs.mkdirSync(STATE_DIR, { recursive: true });
  if (state) for (const n of nodesOf(state)) fs.rmSync(n.dataDir, { recursive: true, force: true });
  const id = clusterId();
  const scram = SASL_SSL_PORT === undefined ? [] : scramUsers().flatMap(([name, password]) => ['-S', `SCRAM-SHA-512=[name=${name},password=${password}]`]);
  if (SASL_SSL_PORT !== undefined) makeCertificates(TLS_DIR);
  const nodes: NodeState[] = planned.map((n) => {
    fs.mkdirSync(n.dir, { recursive: true });
    const dataDir = fs.mkdtempSync(path.join(n.dir, 'data-'));
    const props = path.join(n.dir, 'server.properties');
    fs.writeFileSync(props, serverProperties(n, count, dataDir));
    fs.writeFileSync(path.join(n.dir, 'log4j.properties'), LOG4J1);
    fs.writeFileSync(path.join(n.dir, 'log4j2.properties'), LOG4J2);
    const fmt = spawnSync(
      'java',
      [
        logOption(VERSION, n.dir),
        `-Dkafka.logs.dir=${n.dir}`,
        '-cp',
        path.join(libs, '*'),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        id,
        '-c',
        props,
        ...scram,
      ],
      { encoding: 'utf8' },
    );
    if (fmt.error) throw new Error(`could not run java (is a JDK 17 installed?): ${fmt.error.message}`);
    if (fmt.status !== 0) throw new Error(`StorageTool format failed (${fmt.status}) for node ${n.id}: ${fmt.stderr}${fmt.stdout}`);
    return { ...n, pid: 0, dataDir, logFile: path.join(n.dir, 'broker.log') };
  });
  const next: BrokerState = {
    pid: 0,
    version: VERSION,
    port: PORT,
    dataDir: nodes[0]!.dataDir,
    logFile: nodes[0]!.logFile,
    startedAt: new Date().toISOString(),
    nodes,
  };
  // Every node at once: a controller quorum of N needs a majority up before any node is ready.
  await Promise.all(nodes.map((n) => launch(next, n, started, 'w', false)));
  await ready(next, nodes, started);
}

/** Wait until every node of `nodes` answers and the cluster counts them all. */
async function ready(state: BrokerState, nodes: NodeState[], started: number): Promise<void> {
  // From now: `started` may lie before a stop and a --down-for pause.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const all = nodesOf(state);
  for (const n of nodes) {
    while (!(await portOpen(n.port))) {
      if (!alive(n.pid)) throw new Error(`node ${n.id} exited before it was ready; last lines of its log:\n${tail(n.logFile)}`);
      if (Date.now() > deadline)
        throw new Error(`node ${n.id}'s port ${n.port} not open after ${READY_TIMEOUT_MS / 1000} s; last log lines:\n${tail(n.logFile)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  for (;;) {
    const r = await probeBroker({ brokers: addresses(nodes) }, Math.max(5000, deadline - Date.now()));
    if (r.brokers >= all.filter((n) => alive(n.pid)).length) break;
    if (Date.now() > deadline) throw new Error(`the cluster counts ${r.brokers} brokers, not ${all.length}, after ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((res) => setTimeout(res, 500));
  }
  // A probe whose deletion a restarting node could not take yet: asked of the whole cluster now.
  await deleteTopicsByPrefix(`${LIBRARY_TOPIC_PREFIX}probe.${process.pid}.`, { brokers: addresses(all.filter((n) => alive(n.pid))) }).catch(() => undefined);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s${all.length > 1 ? ` (${nodes.map((n) => `node ${n.id}`).join(', ')} of ${all.length})` : ''}`);
  if (SASL_SSL_PORT !== undefined) log(`SASL_SSL (SCRAM-SHA-512) on 127.0.0.1:${SASL_SSL_PORT}; its CA: ${path.join(TLS_DIR, 'ca.pem')} (KAFKA_TLS_CA_FILE)`);
}

/** Start one node on formatted storage (its pid recorded); with `wait`, until the cluster answers with it. */
async function launch(state: BrokerState, node: NodeState, started: number, logMode: 'w' | 'a', wait = true): Promise<void> {
  const libs = ensureJars(state.version);
  const out = fs.openSync(node.logFile, logMode);
  const child = spawn(
    'java',
    [
      '-Xms512m',
      '-Xmx1g',
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      logOption(state.version, node.dir),
      `-Dkafka.logs.dir=${node.dir}`,
      '-cp',
      path.join(libs, '*'),
      'kafka.Kafka',
      path.join(node.dir, 'server.properties'),
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error('java did not start');
  child.unref();
  node.pid = child.pid;
  if (state.nodes) state.nodes = state.nodes.map((n) => (n.id === node.id ? node : n));
  else Object.assign(state, { pid: node.pid });
  writeState(state);
  const many = nodesOf(state).length > 1;
  log(
    `starting Kafka ${state.version}${many ? ` node ${node.id}` : ''} (pid ${node.pid}) on 127.0.0.1:${node.port}, ` +
      `log ${path.relative(process.cwd(), node.logFile)}`,
  );
  if (wait) await ready(state, [node], started);
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

function runningState(): BrokerState {
  if (process.env.KAFKA_BROKERS) throw new Error('KAFKA_BROKERS is set: this only acts on the local broker this script started');
  const state = readState();
  if (!state) throw new Error(`no local broker on port ${PORT}; run up first`);
  return state;
}

/**
 * Stop the local broker (or one node of the cluster) and start it again on
 * the same data: topics, messages and groups survive, as in a real broker
 * restart. `--kill` stops it with SIGKILL (a crash) instead of a clean
 * shutdown; `downForMs` keeps it away that long before it starts again.
 */
async function restart(args: string[]): Promise<void> {
  const state = runningState();
  const kill = args.includes('--kill');
  const downForMs = downFor(args);
  const one = nodeArg(args, state, false);
  const nodes = one ? [one] : nodesOf(state);
  const started = Date.now();
  await Promise.all(nodes.map((n) => stopProcess(n.pid, kill ? 'SIGKILL' : 'SIGTERM')));
  log(
    `stopped ${nodes.length === 1 && nodesOf(state).length === 1 ? 'broker' : nodes.map((n) => `node ${n.id}`).join(', ')} ` +
      `(${kill ? 'SIGKILL' : 'SIGTERM'}) after ${Date.now() - started} ms; ` +
      `starting it again on the same data${downForMs > 0 ? ` in ${downForMs / 1000} s` : ''}`,
  );
  if (downForMs > 0) await new Promise((resolve) => setTimeout(resolve, downForMs));
  await Promise.all(nodes.map((n) => launch(state, n, started, 'a', false)));
  await ready(state, nodes, started);
}

/** Stop one node of a cluster (SIGTERM, or SIGKILL with --kill) and leave it stopped. */
async function stopNode(args: string[]): Promise<void> {
  const state = runningState();
  const node = nodeArg(args, state, true)!;
  const started = Date.now();
  await stopProcess(node.pid, args.includes('--kill') ? 'SIGKILL' : 'SIGTERM');
  log(`stopped node ${node.id} (pid ${node.pid}, ${args.includes('--kill') ? 'SIGKILL' : 'SIGTERM'}) in ${Date.now() - started} ms`);
}

/** Start a stopped node of a cluster again on its data. */
async function startNode(args: string[]): Promise<void> {
  const state = runningState();
  const node = nodeArg(args, state, true)!;
  if (alive(node.pid)) {
    log(`node ${node.id} is running (pid ${node.pid})`);
    return;
  }
  await launch(state, node, Date.now(), 'a');
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    log('no local broker was started by this project');
    return;
  }
  const nodes = nodesOf(state);
  await Promise.all(
    nodes.map(async (n) => {
      const what = nodes.length === 1 ? 'broker' : `node ${n.id}`;
      if (alive(n.pid)) {
        await stopProcess(n.pid, 'SIGTERM');
        log(`stopped ${what} (pid ${n.pid})`);
      } else {
        log(`${what} pid ${n.pid} was not running`);
      }
      fs.rmSync(n.dataDir, { recursive: true, force: true });
    }),
  );
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
  const nodes = state ? nodesOf(state) : [];
  const running = nodes.filter((n) => alive(n.pid));
  if (!state || running.length === 0) {
    log('local broker: not running');
    return false;
  }
  const what =
    nodes.length === 1 ? 'local broker' : `local cluster (${running.length} of ${nodes.length} nodes running: ${running.map((n) => n.id).join(', ')})`;
  try {
    const r = await probeBroker({ brokers: addresses(running) }, 5000, { groups: false });
    log(`${what}: Kafka ${state.version} on ${addresses(nodes).join(',')}, since ${state.startedAt}, answers (${r.elapsedMs} ms)`);
    return running.length === nodes.length;
  } catch (e) {
    log(`${what}: runs but does not answer: ${(e as Error).message}`);
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
export const BROKER_ACTIONS = ['up', 'down', 'status', 'restart', 'stop', 'start'] as const;

/** What `runBroker` prints for a wrong action. */
export const BROKER_USAGE =
  'usage: broker up [--nodes N] | down | status | restart [--kill] [--down-for <s>] [--node <id>] | stop --node <id> [--kill] | start --node <id>';

/**
 * Run one action (see BROKER_USAGE); resolves to an exit code (failures are
 * printed). The caller should exit with it: a client socket kafkajs leaves
 * behind must not keep it waiting.
 */
export async function runBroker(args: string[]): Promise<number> {
  const cmd = args[0];
  try {
    if (cmd === 'up') await up(nodeCount(args));
    else if (cmd === 'down') await down();
    else if (cmd === 'status') return (await status()) ? 0 : 1;
    else if (cmd === 'restart') await restart(args);
    else if (cmd === 'stop') await stopNode(args);
    else if (cmd === 'start') await startNode(args);
    else {
      console.error(BROKER_USAGE);
      return 2;
    }
    return 0;
  } catch (e) {
    console.error(`[kafka] ${(e as Error).message}`);
    return 1;
  }
}
