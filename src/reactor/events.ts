/**
 * A Reactor's events, in kafkajs' style: `els.on(name, listener)` returns a
 * function that removes the listener. Durations are in milliseconds. A
 * listener that throws is reported to `onError`; it never disturbs the
 * message being processed.
 */
import type { ReactorMessage } from './types';

export interface MessageRef {
  topic: string;
  partition: number;
  offset: string;
  correlationId?: string;
}

export interface ReactorEvents {
  /** A main-topic message was read (before it is decoded). */
  received: MessageRef;
  /** depsFn's deps map was validated: these calls will run. */
  planned: MessageRef & { nodes: string[] };
  /** A dependency call's request is on its way. */
  callSent: MessageRef & { node: string; topic: string };
  /** A dependency call was answered. */
  callDone: MessageRef & { node: string; topic: string; durationMs: number };
  /** A dependency call failed (remote error, timeout, transport). */
  callFailed: MessageRef & { node: string; topic: string; durationMs: number; error: unknown };
  /** A dependency call failed transiently and will be tried again after `delayMs`. */
  callRetried: MessageRef & { node: string; topic: string; attempt: number; delayMs: number; error: unknown };
  /** A message was processed: answered with its result, or with `error`. */
  done: { message: ReactorMessage; durationMs: number; error?: unknown };
  /** A message went to the dead-letter topic. */
  deadLettered: MessageRef & { reason: string };
}

export type ReactorEventName = keyof ReactorEvents;
export type ReactorListener<K extends ReactorEventName> = (event: ReactorEvents[K]) => void;

/** Typed listeners by event name. */
export class ReactorEventHub {
  private readonly listeners = new Map<ReactorEventName, Set<(e: never) => void>>();

  constructor(private readonly onError: (error: unknown) => void) {}

  on<K extends ReactorEventName>(name: K, listener: ReactorListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (e: never) => void);
    return () => void set.delete(listener as (e: never) => void);
  }

  emit<K extends ReactorEventName>(name: K, event: ReactorEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as ReactorListener<K>)(event);
      } catch (e) {
        this.onError(e);
      }
    }
  }
}
