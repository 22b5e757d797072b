/**
 * The `kafka-fusion` command. Only this file imports commander: a program
 * that imports the library never loads it.
 *
 *   kafka-fusion send <topic> <json> [--key k] [--header name=value]... [--wire envelope|headers]
 *   kafka-fusion request <topic> <json> [--timeout ms] [--reply-mode instance|ephemeral] [--key k] [--header name=value]... [--wire envelope|headers]
 *   kafka-fusion dag render <deps.json> [--format mermaid|dot|svg]
 *   kafka-fusion topics list [--all] | topics create <topic...> [--partitions n] | topics sweep [--older-than ms]
 *   kafka-fusion broker up|down|status|restart [--kill] [--down-for s]
 *   kafka-fusion --version; --brokers host:port,... before any command (else KAFKA_BROKERS, else 127.0.0.1:9092)
 *
 * Exit codes: 0 done, 1 the operation failed (the error is printed), 2 bad
 * usage (commander's message and the command's help).
 */
import { aclCommands, aclTable, requiredAcls } from '../acls';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BROKER_ACTIONS, runBroker } from '../broker/local';
import { DAG_FORMATS, renderDag, type DagFormat, type DepsMap } from '../dag';
import { ConfigError, isFusionError } from '../errors';
import { brokersFromEnv, type ConnectionOptions } from '../kafka/client';
import { ephemeralTopicTime, isValidTopicName, LIBRARY_TOPIC_PREFIX } from '../naming';
import { sweepTopics } from '../calls/sweeper';
import { ensureTopics, reachableAdmin } from '../kafka/topic-tools';
import { WIRE_FORMATS, type WireFormat } from '../protocol/wire';
import { Pipeline } from '../pipeline/pipeline';
import { dotToSvg } from './svg';

/** Where the command writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`not JSON: ${(e as Error).message}`);
  }
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number of milliseconds, got "${text}"`);
  return n;
}

function positiveCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number, got "${text}"`);
  return n;
}

function seconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of seconds >= 0, got "${text}"`);
  return n;
}

function nonNegativeInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number of milliseconds >= 0, got "${text}"`);
  return n;
}

/** `--header name=value`, repeatable: collected into one object. */
function header(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected name=value, got "${text}"`);
  return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
}

const headerOption = () => new Option('--header <name=value>', 'a header of the request (repeatable): a tenant or correlation id').argParser(header);
const wireOption = () =>
  new Option('--wire <format>', "'envelope' (JSON in the kafka-fusion envelope) or 'headers' (bare JSON: what a NestJS or Spring service reads)")
    .choices([...WIRE_FORMATS])
    .default('envelope');

function describeError(e: unknown): string {
  if (isFusionError(e)) return `${e.name} (${e.code}): ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** `--brokers a:1,b:2`: a comma-separated list. */
function brokerList(text: string): string[] {
  const list = text
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (list.length === 0 || list.some((b) => !/^[^\s:]+:\d+$/.test(b))) throw new InvalidArgumentError(`expected host:port[,host:port...], got "${text}"`);
  return list;
}

/** The package's version, from its package.json (two folders up from src/cli and from dist/cli). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The connection of every command: --brokers when given (else KAFKA_BROKERS, else the default); the client's log off, errors are printed as one line. */
let connection: ConnectionOptions = { logLevel: 'nothing' };

async function withPipeline<T>(fn: (p: Pipeline) => Promise<T>, replyMode: 'ephemeral' | 'instance' = 'ephemeral'): Promise<T> {
  // A one-shot command: no background sweeps, no topics created ahead.
  const pipeline = await new Pipeline({ sweepIntervalMs: 0, spareReturnTopics: 0, replyMode, connection }).start();
  try {
    return await fn(pipeline);
  } finally {
    await pipeline.close();
  }
}

export function buildProgram(io: Io = processIo): Command {
  const program = new Command('kafka-fusion')
    .description('Drive kafka-fusion services from a terminal: send, request, draw DAGs, manage return topics and the local broker.')
    .version(version(), '--version', 'print the version')
    .option('--brokers <host:port,...>', 'the Kafka cluster (else KAFKA_BROKERS, else 127.0.0.1:9092)', brokerList)
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .addHelpText('after', '\nEnvironment:\n  KAFKA_BROKERS  the Kafka cluster, host:port[,host:port...], when --brokers is not given (default 127.0.0.1:9092)')
    .hook('preAction', (root) => {
      const brokers = (root.opts() as { brokers?: string[] }).brokers;
      // brokersFrom: errors say the list came from --brokers.
      connection = brokers ? ({ brokers, brokersFrom: '--brokers', logLevel: 'nothing' } as ConnectionOptions) : { logLevel: 'nothing' };
    })
    .exitOverride();

  program
    .command('send')
    .description('send a request with no return topic (fire and forget)')
    .argument('<topic>', 'the service topic')
    .argument('<json>', "the request's data, as JSON", json)
    .option('--key <key>', 'message key (decides the partition)')
    .addOption(headerOption())
    .addOption(wireOption())
    .action(async (topic: string, data: unknown, o: { key?: string; header?: Record<string, string>; wire: WireFormat }) => {
      await withPipeline((p) => p.send(topic, data, { key: o.key, headers: o.header, wire: o.wire }));
      io.err(`sent to ${topic}`);
    });

  program
    .command('request')
    .description('send a request and print its result (JSON), or fail with the error')
    .argument('<topic>', 'the service topic')
    .argument('<json>', "the request's data, as JSON", json)
    .option('--timeout <ms>', 'how long to wait for the reply', positiveInt, 30000)
    .option('--key <key>', 'message key (decides the partition)')
    .addOption(new Option('--reply-mode <mode>', 'where the reply comes back').choices(['ephemeral', 'instance']).default('ephemeral'))
    .addOption(headerOption())
    .addOption(wireOption())
    .action(
      async (
        topic: string,
        data: unknown,
        o: { timeout: number; key?: string; replyMode: 'ephemeral' | 'instance'; header?: Record<string, string>; wire: WireFormat },
      ) => {
        io.err(`waiting up to ${o.timeout} ms for the reply from ${topic}...`);
        const out = await withPipeline((p) => p.call(topic, data, { timeoutMs: o.timeout, key: o.key, headers: o.header, wire: o.wire }), o.replyMode);
        io.out(JSON.stringify(out.result));
        io.err(`replied in ${out.timings.totalMs} ms`);
      },
    );

  const dag = program.command('dag').description('deps maps');
  dag
    .command('render')
    .description('draw a deps map (a JSON file: { name: { topic, args, deps? } }) as Mermaid, Graphviz DOT, or SVG (Graphviz built in)')
    .argument('<deps.json>', "the deps map's file")
    .addOption(new Option('--format <format>', 'output format').choices([...DAG_FORMATS, 'svg']).default('mermaid'))
    .action(async (file: string, o: { format: DagFormat | 'svg' }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ConfigError('deps.json', `cannot read ${file}: ${(e as Error).message}`);
      }
      let deps: DepsMap;
      try {
        deps = JSON.parse(text) as DepsMap;
      } catch (e) {
        throw new ConfigError('deps.json', `${file} is not JSON: ${(e as Error).message}`);
      }
      io.out(o.format === 'svg' ? (await dotToSvg(renderDag(deps, 'dot'))).trimEnd() : renderDag(deps, o.format).trimEnd());
    });

  const topics = program.command('topics').description("kafka-fusion's topics on the broker");
  topics
    .command('list')
    .description(`list topics named ${LIBRARY_TOPIC_PREFIX}* (--all: every topic), with the age of return topics`)
    .option('--all', "every topic of the cluster, not only the library's")
    .action(async (o: { all?: boolean }) => {
      const admin = await reachableAdmin(connection);
      try {
        const names = await admin.list(o.all ? '' : LIBRARY_TOPIC_PREFIX);
        for (const t of names.sort()) {
          const born = ephemeralTopicTime(t);
          io.out(born === undefined ? t : `${t}\t${Math.round((Date.now() - born) / 1000)} s old`);
        }
        io.err(`${names.length} topic(s)`);
      } finally {
        await admin.close();
      }
    });
  topics
    .command('create')
    .description('create topics (leaders awaited); a topic that exists is left as it is')
    .argument('<topic...>', 'the topics')
    .option('--partitions <n>', 'partitions of each new topic', positiveCount, 1)
    .action(async (names: string[], o: { partitions: number }) => {
      const bad = names.filter((t) => !isValidTopicName(t));
      if (bad.length > 0) throw new ConfigError('topic', `not a valid Kafka topic name: ${bad.map((t) => JSON.stringify(t)).join(', ')}`);
      await ensureTopics(
        names.map((topic) => ({ topic, partitions: o.partitions })),
        connection,
      );
      for (const t of names) io.out(t);
      io.err(`${names.length} topic(s) ready`);
    });
  topics
    .command('sweep')
    .description('delete orphaned return topics (older than --older-than, no live listener)')
    .option('--older-than <ms>', 'only topics older than this', nonNegativeInt, 300000)
    .action(async (o: { olderThan: number }) => {
      io.err(`sweeping return topics older than ${o.olderThan} ms...`);
      const report = await sweepTopics({ olderThanMs: o.olderThan, connection });
      for (const t of report.deleted) io.out(`deleted ${t}`);
      io.err(`${report.deleted.length} deleted, ${report.live.length} kept (live), ${report.young.length} kept (young)`);
    });

  program
    .command('acls')
    .description('print the ACLs a Reactor or a Pipeline needs (least privilege), as kafka-acls commands or a table; talks to no broker')
    .addArgument(new Argument('<role>', 'what the principal runs').choices(['reactor', 'pipeline']))
    .requiredOption('--principal <principal>', 'whom to grant, e.g. User:orders')
    .option('--main-topic <topic>', 'reactor: its main topic')
    .option('--group <id>', 'reactor: its consumer group')
    .option('--dead-letter-topic <topic>', 'reactor: its dead-letter topic (default <main-topic>.dlq)')
    .option('--calls <topic...>', 'topics it sends requests or messages to')
    .addOption(
      new Option('--reply-mode <mode>', "how it waits for replies ('none': it never does)").choices(['ephemeral', 'instance', 'none']).default('ephemeral'),
    )
    .option('--reply-topic <topic>', "instance mode: the operator's reply topic")
    .option('--answers <prefix...>', "reactor: prefixes of callers' return topics it answers (default kafka-fusion.reply.)")
    .option('--no-sweep', 'its sweeper is off (sweepIntervalMs: 0)')
    .option('--table', 'a Markdown table instead of commands')
    .action(
      (
        role: 'reactor' | 'pipeline',
        o: {
          principal: string;
          mainTopic?: string;
          group?: string;
          deadLetterTopic?: string;
          calls?: string[];
          replyMode: 'ephemeral' | 'instance' | 'none';
          replyTopic?: string;
          answers?: string[];
          sweep: boolean;
          table?: boolean;
        },
      ) => {
        const grants = requiredAcls({
          role,
          mainTopic: o.mainTopic,
          groupId: o.group,
          deadLetterTopic: o.deadLetterTopic,
          calls: o.calls,
          replyMode: o.replyMode,
          replyTopic: o.replyTopic,
          answers: o.answers,
          ...(o.sweep === false && { sweeps: false }),
        });
        // The cluster every command uses (--brokers, else KAFKA_BROKERS); none named: a placeholder.
        const bootstrap = connection.brokers?.[0] ?? (process.env.KAFKA_BROKERS ? brokersFromEnv()[0] : undefined);
        io.out(o.table ? aclTable(grants) : aclCommands(grants, o.principal, bootstrap).join('\n'));
      },
    );

  program
    .command('broker')
    .description('a local Apache Kafka broker, or a cluster of N nodes, from its jars on Maven Central (needs a JDK 17 and Maven)')
    .addArgument(new Argument('<action>', 'up, down, status, restart, stop or start').choices([...BROKER_ACTIONS]))
    .option('--nodes <n>', 'up: a cluster of this many KRaft nodes on consecutive ports (default 1, or KAFKA_NODES)')
    .option('--node <id>', 'restart, stop, start: only this node of the cluster (1..N)')
    .option('--kill', 'restart, stop: with SIGKILL (a crash) instead of cleanly')
    .option('--down-for <s>', 'restart: stay away this many seconds first', seconds)
    .addHelpText(
      'after',
      '\nEnvironment: KAFKA_VERSION (default 3.9.2), KAFKA_PORT (default 9092), KAFKA_NODES (default 1), ' +
        "KAFKA_FUSION_CACHE (jars; default ~/.cache/kafka-fusion), KAFKA_FUSION_STATE (the broker's state and data; default <cache>/brokers)",
    )
    .action(async (action: string, o: { kill?: boolean; downFor?: number; nodes?: string; node?: string }, command: Command) => {
      // --brokers names a cluster to use instead of a local broker, as KAFKA_BROKERS does.
      const brokers = (command.optsWithGlobals() as { brokers?: string[] }).brokers;
      if (brokers) process.env.KAFKA_BROKERS = brokers.join(',');
      const args = [
        action,
        ...(o.kill ? ['--kill'] : []),
        ...(o.downFor !== undefined ? ['--down-for', String(o.downFor)] : []),
        ...(o.nodes !== undefined ? ['--nodes', o.nodes] : []),
        ...(o.node !== undefined ? ['--node', o.node] : []),
      ];
      const code = await runBroker(args);
      if (code !== 0) throw new Error(`broker ${action} failed (exit ${code}); see above`);
    });

  return program;
}

/** Run the command line; resolves to the exit code. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // help, version; or bad usage (already printed)
    io.err(`error: ${describeError(e)}`);
    return 1;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => process.exit(code));
}
