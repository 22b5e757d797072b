/**
 * The ACLs a Reactor or a Pipeline needs, least privilege: one source for
 * docs/security.md's table, the `kafka-fusion acls` command and the
 * secured-broker tests. Pure: nothing here talks to a broker.
 */
import { ConfigError } from './errors';
import { EPHEMERAL_TOPIC_PREFIX, defaultDeadLetterTopic, isValidTopicName } from './naming';

/** An ACL operation, as `kafka-acls --operation` spells it. */
export type AclOperationName = 'Read' | 'Write' | 'Create' | 'Delete' | 'Describe';

/** One line of the table: operations allowed on a resource, and why. */
export interface AclGrant {
  resourceType: 'topic' | 'group';
  /** The name, or the prefix of the names when `pattern` is `'prefixed'`. */
  name: string;
  pattern: 'literal' | 'prefixed';
  operations: AclOperationName[];
  why: string;
}

/** What a process does, to say which ACLs it needs. */
export interface AclNeeds {
  /** A Reactor (consumes a main topic) or a Pipeline (only sends and requests). */
  role: 'reactor' | 'pipeline';
  /** Reactor: its main topic. */
  mainTopic?: string;
  /** Reactor: its consumer group. */
  groupId?: string;
  /** Reactor: its dead-letter topic. @defaultValue `<mainTopic>.dlq` */
  deadLetterTopic?: string;
  /** Topics it writes requests or messages to (a Reactor's dependencies, a Pipeline's targets). */
  calls?: string[];
  /**
   * How it waits for replies: `'ephemeral'` and `'instance'` create return
   * topics under the prefix; `'instance'` with `replyTopic` reads an
   * operator's topic; `'none'` never waits for a reply (a service without
   * dependencies, a Pipeline that only sends). @defaultValue 'ephemeral'
   */
  replyMode?: 'ephemeral' | 'instance' | 'none';
  /** Instance mode: the operator's reply topic (see the `replyTopic` option). */
  replyTopic?: string;
  /** Prefix of return topics (`ephemeralTopicPrefix`). @defaultValue `kafka-fusion.reply.` */
  returnTopicPrefix?: string;
  /** Reactor: prefixes of callers' return topics it answers (its `returnTopicAllowList`'s strings). @defaultValue [returnTopicPrefix] */
  answers?: string[];
  /** Whether its sweeper runs (`sweepIntervalMs` > 0, the default). @defaultValue true unless replyMode is 'none' or replyTopic is set */
  sweeps?: boolean;
}

function topicName(path: string, value: unknown): string {
  if (!isValidTopicName(value)) throw new ConfigError(path, `must be a valid Kafka topic name, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * The ACLs `needs` call for, allowed to its principal, nothing more (Kafka
 * lets Read, Write and Delete imply Describe; Describe is listed anyway, so
 * that the table reads alone). Creating the dead-letter topic is left to the
 * operator: a Reactor creates it only when it is missing, which needs Create.
 */
export function requiredAcls(needs: AclNeeds): AclGrant[] {
  const prefix = needs.returnTopicPrefix ?? EPHEMERAL_TOPIC_PREFIX;
  if (!isValidTopicName(`${prefix}x`)) throw new ConfigError('returnTopicPrefix', 'must be made of Kafka topic characters [a-zA-Z0-9._-]');
  const mode = needs.replyMode ?? 'ephemeral';
  if (!['ephemeral', 'instance', 'none'].includes(mode))
    throw new ConfigError('replyMode', `must be 'ephemeral', 'instance' or 'none', got ${JSON.stringify(mode)}`);
  if (needs.replyTopic !== undefined && mode !== 'instance') throw new ConfigError('replyTopic', "is read only in replyMode 'instance'");
  const grants: AclGrant[] = [];
  if (needs.role === 'reactor') {
    const main = topicName('mainTopic', needs.mainTopic);
    if (typeof needs.groupId !== 'string' || needs.groupId.length === 0) throw new ConfigError('groupId', 'must be a non-empty string');
    grants.push({ resourceType: 'topic', name: main, pattern: 'literal', operations: ['Read', 'Describe'], why: 'read its requests' });
    grants.push({
      resourceType: 'group',
      name: needs.groupId,
      pattern: 'literal',
      operations: ['Read', 'Describe'],
      why: 'its consumer group (Describe: its offsets at start)',
    });
    const dlq = topicName('deadLetterTopic', needs.deadLetterTopic ?? defaultDeadLetterTopic(main));
    grants.push({
      resourceType: 'topic',
      name: dlq,
      pattern: 'literal',
      operations: ['Write', 'Describe'],
      why: 'dead-letter what it cannot answer (create the topic beforehand, or add Create)',
    });
    for (const answered of needs.answers ?? [prefix]) {
      if (!isValidTopicName(`${answered}x`)) throw new ConfigError('answers', `must be topic-name prefixes, got ${JSON.stringify(answered)}`);
      grants.push({
        resourceType: 'topic',
        name: answered,
        pattern: 'prefixed',
        operations: ['Write', 'Describe'],
        why: "write replies to its callers' return topics",
      });
    }
  } else if (needs.role !== 'pipeline') {
    throw new ConfigError('role', `must be 'reactor' or 'pipeline', got ${JSON.stringify(needs.role)}`);
  }
  for (const [i, t] of (needs.calls ?? []).entries()) {
    grants.push({
      resourceType: 'topic',
      name: topicName(`calls[${i}]`, t),
      pattern: 'literal',
      operations: ['Write', 'Describe'],
      why: 'write requests to it',
    });
  }
  if (mode === 'instance' && needs.replyTopic !== undefined) {
    const reply = topicName('replyTopic', needs.replyTopic);
    grants.push({
      resourceType: 'topic',
      name: reply,
      pattern: 'literal',
      operations: ['Read', 'Describe'],
      why: "read replies from the operator's reply topic (no consumer group)",
    });
  } else if (mode !== 'none') {
    grants.push({
      resourceType: 'topic',
      name: prefix,
      pattern: 'prefixed',
      operations: ['Create', 'Delete', 'Read', 'Write', 'Describe'],
      why: 'create, read (no consumer group) and delete its return topics; write the heartbeat that keeps those in use from sweepers',
    });
  }
  const sweeps = needs.sweeps ?? (mode !== 'none' && needs.replyTopic === undefined);
  if (sweeps && (mode === 'none' || needs.replyTopic !== undefined)) {
    grants.push({
      resourceType: 'topic',
      name: prefix,
      pattern: 'prefixed',
      operations: ['Delete', 'Describe'],
      why: 'the sweeper: delete orphaned return topics (Describe: when each was last written)',
    });
  }
  return merged(grants);
}

const OPERATION_ORDER: AclOperationName[] = ['Create', 'Delete', 'Read', 'Write', 'Describe'];

/** One grant per resource: the operations' union (in OPERATION_ORDER, once each), the reasons joined. */
function merged(grants: AclGrant[]): AclGrant[] {
  const byResource = new Map<string, AclGrant>();
  for (const g of grants) {
    const key = `${g.resourceType}\0${g.name}\0${g.pattern}`;
    const seen = byResource.get(key);
    if (!seen) byResource.set(key, { ...g, operations: [...g.operations] });
    else {
      seen.operations.push(...g.operations);
      seen.why = `${seen.why}; ${g.why}`;
    }
  }
  return [...byResource.values()].map((g) => ({ ...g, operations: OPERATION_ORDER.filter((op) => g.operations.includes(op)) }));
}

/** `kafka-acls` commands that grant `grants` to `principal` (e.g. `User:orders`). */
export function aclCommands(grants: AclGrant[], principal: string, bootstrap = '<broker:port>', commandConfig = '<admin.properties>'): string[] {
  if (!/^[A-Za-z]+:.+/.test(principal)) throw new ConfigError('principal', `must be like User:<name>, got ${JSON.stringify(principal)}`);
  return grants.map(
    (g) =>
      `kafka-acls --bootstrap-server ${bootstrap} --command-config ${commandConfig} --add --allow-principal ${principal} ` +
      `${g.operations.map((op) => `--operation ${op}`).join(' ')} --${g.resourceType} ${g.name}` +
      (g.pattern === 'prefixed' ? ' --resource-pattern-type prefixed' : ''),
  );
}

/** A Markdown table of `grants`. */
export function aclTable(grants: AclGrant[]): string {
  const rows = grants.map((g) => `| ${g.resourceType} | \`${g.name}\` | ${g.pattern} | ${g.operations.join(', ')} | ${g.why} |`);
  return ['| resource | name | pattern | operations | why |', '|---|---|---|---|---|', ...rows].join('\n');
}
