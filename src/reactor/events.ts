/**
 * A Reactor's events (see src/events.ts): `els.on(name, listener)` returns
 * a function that removes the listener. Durations are in milliseconds.
 */
import type { CallEvents, Listener } from '../events';
import type { ReactorMessage } from './types';

/** Which main-topic message an event is about. */
export interface MessageRef {
  /** The main topic. */
  topic: string;
  partition: number;
  offset: string;
  /** The request's correlation id, once it is decoded. */
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

/** The names of a Reactor's events. */
export type ReactorEventName = keyof ReactorEvents;
/** A listener of the Reactor event `K`. */
export type ReactorListener<K extends ReactorEventName> = Listener<ReactorEvents, K>;
