/**
 * The one error hierarchy of kafka-fusion.
 *
 * Every error the library throws or rejects with is a `FusionError` with a
 * stable `code`, a literal `name`, a `retriable` flag and typed context.
 * Decide with `instanceof` or `isRetriable()`, never by comparing names.
 */

export const ERROR_CODES = [
  'KF_CONFIG',
  'KF_STATE',
  'KF_DAG_INVALID',
  'KF_DAG_CYCLE',
  'KF_DAG_UNKNOWN_DEP',
  'KF_DAG_RUN',
  'KF_TIMEOUT',
  'KF_DEADLINE',
  'KF_REMOTE',
  'KF_PROTOCOL',
  'KF_TRANSPORT',
  'KF_UNKNOWN_TOPIC',
  'KF_NOT_AUTHORIZED',
  'KF_USER',
] as const;

/** The stable code of a kafka-fusion error (`err.code`), one of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** What a FusionError is made with besides its message. */
export interface FusionErrorOptions {
  cause?: unknown;
}

/**
 * The root of every error kafka-fusion throws or rejects with: a stable
 * `code` (one of ERROR_CODES), a literal `name`, and whether trying again
 * may help (`retriable`).
 */
export class FusionError extends Error {
  static readonly code: ErrorCode = 'KF_USER';
  override readonly name: string = 'FusionError';
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(message: string, code: ErrorCode, retriable: boolean, options: FusionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = retriable;
  }
}

/** Bad options given to a Reactor, a Pipeline or a helper. */
export class ConfigError extends FusionError {
  static override readonly code = 'KF_CONFIG' as const;
  override readonly name = 'ConfigError';
  /** Path of the offending option, e.g. `elements.mainTopic`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`, ConfigError.code, false);
    this.path = path;
  }
}

/** A method called in a state where it cannot run (e.g. `request` after `close`). */
export class StateError extends FusionError {
  static override readonly code = 'KF_STATE' as const;
  override readonly name = 'StateError';
  constructor(message: string) {
    super(message, StateError.code, false);
  }
}

/** A deps map that cannot be built into a DAG: missing topic, bad args, bad argIn... */
export class DagValidationError extends FusionError {
  static override readonly code: ErrorCode = 'KF_DAG_INVALID';
  override readonly name: string = 'DagValidationError';
  /** The node at fault, when there is one. */
  readonly node: string | undefined;
  constructor(message: string, node?: string, code: ErrorCode = DagValidationError.code) {
    super(message, code, false);
    this.node = node;
  }
}

/** The deps map has a cycle; `cycle` is its path, first node repeated at the end. */
export class DagCycleError extends DagValidationError {
  static override readonly code = 'KF_DAG_CYCLE' as const;
  override readonly name = 'DagCycleError';
  readonly cycle: readonly string[];
  constructor(cycle: readonly string[]) {
    super(`deps map has a cycle: ${cycle.join(' -> ')}`, cycle[0], DagCycleError.code);
    this.cycle = cycle;
  }
}

/** A node names a dependency that is not a node of the deps map. */
export class UnknownDependencyError extends DagValidationError {
  static override readonly code = 'KF_DAG_UNKNOWN_DEP' as const;
  override readonly name = 'UnknownDependencyError';
  readonly dependency: string;
  constructor(node: string, dependency: string) {
    super(`node "${node}" depends on "${dependency}", which is not a node of the deps map`, node, UnknownDependencyError.code);
    this.dependency = dependency;
  }
}

/** One node of a DAG run failed; the run stopped. `cause` is the node's error. */
export class DagRunError extends FusionError {
  static override readonly code = 'KF_DAG_RUN' as const;
  override readonly name = 'DagRunError';
  readonly node: string;
  constructor(node: string, cause: unknown) {
    super(`node "${node}" failed: ${describe(cause)}`, DagRunError.code, isRetriable(cause), { cause });
    this.node = node;
  }
}

/** What a CallTimeoutError says of the call. */
export interface TimeoutContext {
  topic: string;
  timeoutMs: number;
  correlationId?: string;
  node?: string;
}

/** No reply arrived within the deadline. */
export class CallTimeoutError extends FusionError {
  static override readonly code = 'KF_TIMEOUT' as const;
  override readonly name = 'CallTimeoutError';
  readonly topic: string;
  readonly timeoutMs: number;
  readonly correlationId: string | undefined;
  readonly node: string | undefined;
  constructor(ctx: TimeoutContext) {
    const who = ctx.node === undefined ? '' : `node "${ctx.node}": `;
    super(`${who}no reply from topic "${ctx.topic}" within ${ctx.timeoutMs} ms`, CallTimeoutError.code, true);
    this.topic = ctx.topic;
    this.timeoutMs = ctx.timeoutMs;
    this.correlationId = ctx.correlationId;
    this.node = ctx.node;
  }
}

/**
 * A message's whole deadline ran out while a Reactor was working on it: the
 * caller's own deadline (the request's `deadline`) or the Reactor's
 * `messageTimeoutMs`, whichever comes first. Calls still in flight are
 * aborted.
 */
export class DeadlineError extends FusionError {
  static override readonly code = 'KF_DEADLINE' as const;
  override readonly name = 'DeadlineError';
  /** Epoch milliseconds at which the deadline ran out. */
  readonly deadline: number;
  constructor(what: string, deadline: number, cause?: unknown) {
    super(`${what} deadline ${new Date(deadline).toISOString()} passed${cause === undefined ? '' : ` (${describe(cause)})`}`, DeadlineError.code, false, {
      cause,
    });
    this.deadline = deadline;
  }
}

/** What crosses the wire in an error reply. */
export interface WireError {
  name: string;
  message: string;
}

/** The remote service answered with an error reply. */
export class RemoteError extends FusionError {
  static override readonly code = 'KF_REMOTE' as const;
  override readonly name = 'RemoteError';
  readonly topic: string;
  readonly node: string | undefined;
  readonly remote: WireError;
  constructor(topic: string, remote: WireError, node?: string) {
    const who = node === undefined ? '' : `node "${node}" `;
    super(`${who}(topic "${topic}") replied with ${remote.name}: ${remote.message}`, RemoteError.code, false);
    this.topic = topic;
    this.node = node;
    this.remote = remote;
  }
}

/** Bytes that are not a valid kafka-fusion envelope. */
export class ProtocolError extends FusionError {
  static override readonly code = 'KF_PROTOCOL' as const;
  override readonly name = 'ProtocolError';
  constructor(message: string) {
    super(message, ProtocolError.code, false);
  }
}

/**
 * The Kafka client failed (connection, metadata, admin...). Usually
 * retriable. `reason` says why a write failed when the broker said:
 * `'too-large'` (its size limit) or `'refused'` (the records as they are),
 * both for good, or `'unknown-topic'` (a topic it wrote to, or one a kafkajs
 * producer wrote to before, is gone: kafkajs #1622).
 */
export class TransportError extends FusionError {
  static override readonly code = 'KF_TRANSPORT' as const;
  override readonly name = 'TransportError';
  readonly reason: 'too-large' | 'refused' | 'unknown-topic' | undefined;
  constructor(message: string, cause?: unknown, retriable = true, reason?: 'too-large' | 'refused' | 'unknown-topic') {
    super(cause === undefined ? message : `${message}: ${describe(cause)}`, TransportError.code, retriable, { cause });
    this.reason = reason;
  }
}

/**
 * A write to a topic that does not exist, refused before it was tried (a
 * send would otherwise retry for seconds). Not retriable: create the topic
 * first.
 */
export class UnknownTopicError extends FusionError {
  static override readonly code = 'KF_UNKNOWN_TOPIC' as const;
  override readonly name = 'UnknownTopicError';
  readonly topic: string;
  constructor(topic: string) {
    super(
      `topic "${topic}" does not exist (or this client may not see it); nothing was written to it ` +
        `(create it first: ensureTopics(), or kafka-fusion topics create ${topic})`,
      UnknownTopicError.code,
      false,
    );
    this.topic = topic;
  }
}

/** The kind of Kafka resource an ACL is on, as `kafka-acls` spells its option. */
export type AclResourceType = 'topic' | 'group' | 'cluster' | 'transactional-id';

/** What an AuthorizationError says was refused. */
export interface AclRefusal {
  /** The ACL operation, as `kafka-acls --operation` spells it: Read, Write, Create, Delete, Describe... */
  operation: string;
  resourceType: AclResourceType;
  /** The resource's name, or the prefix of the names when `pattern` is prefixed; empty for the cluster. */
  resource: string;
  pattern: 'literal' | 'prefixed';
  /** The principal refused (`User:<name>`) when the client knows it (SASL PLAIN and SCRAM), else undefined. */
  principal?: string;
}

/**
 * The broker refused an operation for lack of an ACL. Never retriable:
 * only an operator's grant changes the answer. The message names the
 * operation, the resource and the `kafka-acls` command that grants it
 * (docs/security.md lists every ACL the library needs).
 */
export class AuthorizationError extends FusionError implements AclRefusal {
  static override readonly code = 'KF_NOT_AUTHORIZED' as const;
  override readonly name = 'AuthorizationError';
  readonly operation: string;
  readonly resourceType: AclResourceType;
  readonly resource: string;
  readonly pattern: 'literal' | 'prefixed';
  readonly principal: string | undefined;
  constructor(refusal: AclRefusal, what?: string, cause?: unknown) {
    const { operation, resourceType, resource, pattern, principal } = refusal;
    const target =
      resourceType === 'cluster' ? 'the cluster' : pattern === 'prefixed' ? `${resourceType}s named "${resource}*"` : `${resourceType} "${resource}"`;
    const option =
      resourceType === 'cluster' ? '--cluster' : `--${resourceType} ${resource}${pattern === 'prefixed' ? ' --resource-pattern-type prefixed' : ''}`;
    super(
      `not authorized: ${principal ?? "this client's principal"} may not ${operation} ${target}${what ? ` (${what})` : ''}; ` +
        'the broker refused it and trying again will not help. An operator grants it with: ' +
        `kafka-acls --bootstrap-server <broker> --command-config <admin.properties> --add --allow-principal ${principal ?? 'User:<name>'} ` +
        `--operation ${operation} ${option} (see docs/security.md)`,
      AuthorizationError.code,
      false,
      { cause },
    );
    this.operation = operation;
    this.resourceType = resourceType;
    this.resource = resource;
    this.pattern = pattern;
    this.principal = principal;
  }
}

/** True when `e` is one of kafka-fusion's errors (a FusionError). */
export function isFusionError(e: unknown): e is FusionError {
  return e instanceof FusionError;
}

/** True unless the error, or any error in its `cause` chain, says it is not retriable. */
export function isRetriable(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 16; cur = cur.cause, depth++) {
    if (cur instanceof FusionError && !cur.retriable) return false;
    if (cur instanceof TypeError || cur instanceof RangeError || cur instanceof SyntaxError || cur instanceof ReferenceError) return false;
  }
  return true;
}

/** `name: message` of anything thrown. */
export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Turn anything thrown into the error shape that crosses the wire. */
export function toWireError(e: unknown): WireError {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}
