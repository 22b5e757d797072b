/**
 * Typed events in kafkajs' style: `on(name, listener)` returns the function
 * that removes the listener; a listener that throws is reported to
 * `onError` and never disturbs the work that emitted the event. Each event is
 * also published on the `node:diagnostics_channel` named
 * `kafka-fusion:<source>.<event>` (e.g. `kafka-fusion:reactor.callDone`),
 * for tools that listen there.
 */
import diagnostics from 'node:diagnostics_channel';

/** Where a call stands, for whoever made it: a Pipeline's request or a Reactor's dependency call. */
export interface CallEvents<Ref> {
  /** A call's request is on its way (its first attempt). */
  callSent: Ref;
  /** A call was answered. */
  callDone: Ref & { durationMs: number };
  /** A call failed (remote error, timeout, transport, abort). */
  callFailed: Ref & { durationMs: number; error: unknown };
  /** A call failed transiently and will be tried again after `delayMs`. */
  callRetried: Ref & { attempt: number; delayMs: number; error: unknown };
}

export type CallEventName = keyof CallEvents<unknown>;

/** A listener of event `K` of the events `E`. */
export type Listener<E, K extends keyof E> = (event: E[K]) => void;

/** Typed listeners by event name. */
export class EventHub<E extends object> {
  private readonly listeners = new Map<keyof E, Set<(e: never) => void>>();
  private readonly channels = new Map<keyof E, diagnostics.Channel>();

  constructor(
    /** `reactor` or `pipeline`: the diagnostics channels' middle part. */
    private readonly source: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  on<K extends keyof E>(name: K, listener: Listener<E, K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (e: never) => void);
    return () => void set.delete(listener as (e: never) => void);
  }

  /** Tell the event's listeners and channel; `make` builds its payload, only when someone listens. */
  emit<K extends keyof E>(name: K, make: () => E[K]): void {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = diagnostics.channel(`kafka-fusion:${this.source}.${String(name)}`);
      this.channels.set(name, channel);
    }
    const set = this.listeners.get(name);
    const listened = set !== undefined && set.size > 0;
    if (!listened && !channel.hasSubscribers) return;
    const event = make();
    if (channel.hasSubscribers) channel.publish(event);
    if (!listened) return;
    for (const listener of set) {
      try {
        (listener as Listener<E, K>)(event);
      } catch (e) {
        this.onError(e);
      }
    }
  }
}
