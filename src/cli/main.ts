/**
 * The `kafka-fusion` command. Only this file imports commander: a program
 * that imports the library never loads it.
 *
 *   kafka-fusion send <topic> <json> [--key k] [--header name=value]... [--wire envelope|headers]
 *   kafka-fusion request <topic> <json> [--timeout ms] [--reply-mode instance|ephemeral] [--key k] [--header name=value]... [--wire envelope|headers]
 *   kafka-fusion dag render <deps.json> [--format mermaid|dot]
 *   kafka-fusion topics list | topics create <topic...> [--partitions n] | topics sweep [--older-than ms]
 *   kafka-fusion broker up|down|status (from a source checkout)
 *
 * Exit codes: 0 done, 1 the operation failed (the error is printed), 2 bad
 * usage (commander's message and the command's help).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DAG_FORMATS, renderDag, type DagFormat, type DepsMap } from '../dag';
import { ConfigError, isFusionError } from '../errors';
import { ephemeralTopicTime, isValidTopicName, LIBRARY_TOPIC_PREFIX } from '../kafka/naming';
import { sweepTopics } from '../kafka/sweeper';
import { ensureTopics, topicAdmin } from '../kafka/topics';
import { WIRE_FORMATS, type WireFormat } from '../protocol/wire';
import { Pipeline } from '../pipeline/pipeline';

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
const wireOption = () => new Option('--wire <format>', "'envelope' (JSON in the kafka-fusion envelope) or 'headers' (bare JSON: what a NestJS or Spring service reads)").choices([...WIRE_FORMATS]).default('envelope');

function describeError(e: unknown): string {
  if (isFusionError(e)) return `${e.name} (${e.code}): ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function withPipeline<T>(fn: (p: Pipeline) => Promise<T>, replyMode: 'ephemeral' | 'instance' = 'ephemeral'): Promise<T> {
  // A one-shot command: no background sweeps, no topics created ahead.
  const pipeline = await new Pipeline({ sweepIntervalMs: 0, spareReturnTopics: 0, replyMode, connection: { logLevel: 'nothing' } }).start();
  try {
    return await fn(pipeline);
  } finally {
    await pipeline.close();
  }
}

/** The broker commands run scripts/broker.ts of a source checkout (it fetches Apache Kafka's jars with Maven). */
function brokerScript(): string | undefined {
  for (const root of [path.join(__dirname, '..', '..'), process.cwd()]) {
    const script = path.join(root, 'scripts', 'broker.ts');
    if (existsSync(script)) return script;
  }
  return undefined;
}

export function buildProgram(io: Io = processIo): Command {
  const program = new Command('kafka-fusion')
    .description('Drive kafka-fusion services from a terminal: send, request, draw DAGs, manage return topics and the local broker.')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
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
    .action(async (topic: string, data: unknown, o: { timeout: number; key?: string; replyMode: 'ephemeral' | 'instance'; header?: Record<string, string>; wire: WireFormat }) => {
      io.err(`waiting up to ${o.timeout} ms for the reply from ${topic}...`);
      const out = await withPipeline((p) => p.call(topic, data, { timeoutMs: o.timeout, key: o.key, headers: o.header, wire: o.wire }), o.replyMode);
      io.out(JSON.stringify(out.result));
      io.err(`replied in ${out.timings.totalMs} ms`);
    });

  const dag = program.command('dag').description('deps maps');
  dag
    .command('render')
    .description('draw a deps map (a JSON file: { name: { topic, args, deps? } }) as Mermaid or Graphviz DOT')
    .argument('<deps.json>', "the deps map's file")
    .addOption(new Option('--format <format>', 'output format').choices([...DAG_FORMATS]).default('mermaid'))
    .action((file: string, o: { format: DagFormat }) => {
      const deps = JSON.parse(readFileSync(file, 'utf8')) as DepsMap;
      io.out(renderDag(deps, o.format).trimEnd());
    });

  const topics = program.command('topics').description("kafka-fusion's topics on the broker");
  topics
    .command('list')
    .description(`list topics named ${LIBRARY_TOPIC_PREFIX}*, with the age of return topics`)
    .action(async () => {
      const admin = topicAdmin({ logLevel: 'nothing' });
      try {
        const names = await admin.list(LIBRARY_TOPIC_PREFIX);
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
        { logLevel: 'nothing' },
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
      const report = await sweepTopics({ olderThanMs: o.olderThan, connection: { logLevel: 'nothing' } });
      for (const t of report.deleted) io.out(`deleted ${t}`);
      io.err(`${report.deleted.length} deleted, ${report.live.length} kept (live), ${report.young.length} kept (young)`);
    });

  program
    .command('broker')
    .description('the local Apache Kafka broker (from a source checkout: scripts/broker.ts)')
    .addArgument(new Argument('<action>', 'up, down or status').choices(['up', 'down', 'status']))
    .action((action: string) => {
      const script = brokerScript();
      if (!script) throw new Error('the broker commands need a kafka-fusion source checkout (scripts/broker.ts); run them from its directory');
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, action], { stdio: 'inherit', cwd: path.dirname(path.dirname(script)) });
      if (r.status !== 0) throw new Error(`broker ${action} failed (exit ${r.status ?? r.signal})`);
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
