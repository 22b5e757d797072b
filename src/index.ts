/**
 * kafka-fusion: callback behaviour for Kafka microservices. The one public entry.
 *
 * @packageDocumentation
 */
export {
  ERROR_CODES,
  FusionError,
  ConfigError,
  StateError,
  DagValidationError,
  DagCycleError,
  UnknownDependencyError,
  DagRunError,
  CallTimeoutError,
  DeadlineError,
  RemoteError,
  ProtocolError,
  TransportError,
  UnknownTopicError,
  AuthorizationError,
  isFusionError,
  isRetriable,
} from './errors';
export type { ErrorCode, WireError, FusionErrorOptions, TimeoutContext, AclRefusal, AclResourceType } from './errors';
export { requiredAcls, aclCommands, aclTable } from './acls';
export type { AclGrant, AclNeeds, AclOperationName } from './acls';

export { buildPlan, runPlan, appendResults, prependResults, toMermaid, toDot, renderDag, task, serial, parallel, toDepsMap } from './dag';
export type { DagFormat, PlanStep, TaskOptions } from './dag';
export type { ArgIn, CallSpec, DepsMap, Plan, PlanNode, NodeOutcome, NodeStatus, RunResult, CallNode, RunOptions } from './dag';

export type { RequestEnvelope, ReplyEnvelope, ResultReply, ErrorReply } from './protocol/envelope';
export { JSON_CODEC } from './protocol/codec';
export type { Codec } from './protocol/codec';
export type { WireFormat } from './protocol/wire';

export { elements, reactor, shutdownReactor, Reactor } from './reactor/reactor';
export type { PartitionPosition, ReactorState } from './reactor/reactor';
export { REACTOR_DEFAULTS } from './reactor/options';
export type { ReactorOptions, ResolvedReactorOptions, OptionalReactorOption } from './reactor/options';
export type { ReactorMessage, DepsFn, ProcFn, Results, ReactorOutput } from './reactor/types';
export { keyText, headerText } from './reactor/message';

export { Pipeline, createPipeline, PIPELINE_DEFAULTS } from './pipeline/pipeline';
export type {
  ResolvedPipelineOptions,
  PipelineOptions,
  SendOptions,
  RequestOptions,
  BatchItem,
  BatchOptions,
  PipelineEvents,
  PipelineCallRef,
} from './pipeline/pipeline';
export type { CallOutcome, CallTimings } from './kafka/calls';
export type { ReplyMode } from './reply-mode';

export { RETRY_DEFAULTS } from './retry';
export type { RetryPolicy } from './retry';

export { brokersFromEnv, STDERR_LOGGER } from './kafka/client';
export type { ConnectionOptions, LogLevel, Logger, SaslOptions, TlsOptions } from './kafka/client';
export { LIBRARY_TOPIC_PREFIX, EPHEMERAL_TOPIC_PREFIX } from './kafka/naming';
export { ensureTopics, deleteTopicsByPrefix } from './kafka/topics';
export type { TopicSpec } from './kafka/topics';
export { sweepTopics, SWEEP_DEFAULTS } from './kafka/sweeper';
export type { SweepOptions, SweepReport } from './kafka/sweeper';
export type { TopicRule } from './kafka/naming';
export { DEAD_LETTER_HEADERS, INTEROP_HEADERS, WIRE_HEADERS } from './protocol/headers';
export type { ReactorEvents, ReactorEventName, ReactorListener, MessageRef, CallRef } from './reactor/events';
export type { CallEvents, Listener } from './events';
export { LATENCY_BUCKETS_MS } from './telemetry/metrics';
export type { MetricsSnapshot, HistogramSnapshot } from './telemetry/metrics';
