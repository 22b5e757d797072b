/**
 * A Reactor's events (see src/events.ts): `els.on(name, listener)` returns
 * a function that removes the listener. Durations are in milliseconds.
 */
import type { CallEvents, Listener } from '../events';
import type { ReactorMessage } from './types';

export interface MessageRef {
  topic: string;
  partition: number;
  offset: string;
  correlationId?: string;
}

/** A dependency call of a message's DAG. */
export type CallRef = MessageRef & { node: string; topic: string };

export interface ReactorEvents extends CallEvents<CallRef> {
  /** A main-topic message was read (before it is decoded). */
  received: MessageRef;
  /** depsFn's deps map was validated: these calls will run. */
  planned: MessageRef & { nodes: string[] };
  /** A message was processed: answered with its result, or with `error`. */
  done: { message: ReactorMessage; durationMs: number; error?: unknown };
  /** A message went to the dead-letter topic. */
  deadLettered: MessageRef & { reason: string };
}

export type ReactorEventName = keyof ReactorEvents;
export type ReactorListener<K extends ReactorEventName> = Listener<ReactorEvents, K>;
