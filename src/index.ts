/**
 * kafka-fusion: callback behaviour for Kafka microservices. The main entry:
 * Reactor and Pipeline, their options, messages and events, DAG authoring,
 * connections, codecs and errors. More in `kafka-fusion/admin` (topics,
 * sweeping, ACLs), `kafka-fusion/dag` (the engine alone),
 * `kafka-fusion/protocol` (the wire) and `kafka-fusion/telemetry`.
 *
 * @packageDocumentation
 * @module kafka-fusion
 */
export {
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
export type { ErrorCode } from './errors';

export { elements, reactor, shutdownReactor, Reactor } from './reactor/reactor';
export type { ReactorElements } from './reactor/reactor';
export type { ReactorState } from './reactor/reactor';
export type { LifecycleState } from './lifecycle';
export type { ReactorOptions } from './reactor/options';
export type { ReactorMessage, DepsFn, ProcFn, Results, ReactorOutput } from './reactor/types';
export type { ReactorEvents } from './reactor/events';
export { keyText, headerText } from './reactor/message';

export { Pipeline, createPipeline } from './pipeline/pipeline';
export type { PipelineOptions, SendOptions, RequestOptions, BatchItem, BatchOptions, PipelineEvents } from './pipeline/pipeline';
export type { CallOutcome } from './calls/calls';
export type { ReplyMode } from './reply-mode';
export type { CallerOptions } from './calls/caller';
export type { RetryPolicy } from './retry';
export type { TopicRule } from './naming';
export { EPHEMERAL_TOPIC_PREFIX } from './naming';

export { appendResults, prependResults, task, serial, parallel, toDepsMap } from './dag';
export type { ArgIn, CallSpec, DepsMap, PlanStep, TaskOptions } from './dag';

export { JSON_CODEC } from './protocol/codec';
export type { Codec } from './protocol/codec';
export type { WireFormat } from './protocol/wire';

export { brokersFromEnv } from './kafka/client';
export type { ConnectionOptions, LogLevel, Logger, SaslOptions, TlsOptions } from './kafka/client';
export { ensureTopics } from './kafka/topic-tools';
export type { TopicSpec } from './kafka/topics';
