import type { OutboundMessage } from './producer';
import { isRefusedForGood } from './send-errors';

/** Batches stay well under a broker's default max.message.bytes (1 MB); a batch refused as too large is sent again message by message. */
export const COALESCING: CoalescingOptions = { maxBatchBytes: 512 * 1024, splitOn: isRefusedForGood };

/** Sends one batch of messages to one topic. */
export type SendBatch = (topic: string, messages: OutboundMessage[]) => Promise<void>;

interface Waiting {
  messages: OutboundMessage[];
  bytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface TopicState {
  inFlight: boolean;
  queue: Waiting[];
}

export interface CoalescingOptions {
  /** A batch is cut before it would pass this many bytes of keys and values (one message larger than it goes alone). */
  maxBatchBytes: number;
  /** True when a batch failed for reasons of its own content (too large...): its messages are then sent one by one, so each gets its own verdict. */
  splitOn: (e: unknown) => boolean;
}

function sizeOf(messages: OutboundMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += (m.value === null ? 0 : typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length) + (m.key ? Buffer.byteLength(m.key) : 0);
    for (const [k, v] of Object.entries(m.headers ?? {})) {
      for (const x of Array.isArray(v) ? v : [v]) n += Buffer.byteLength(k) + Buffer.byteLength(x);
    }
  }
  return n;
}

/**
 * Nagle for producing: per topic, one send in flight at a time; messages
 * that arrive meanwhile go together in the next one. An idle topic sends at
 * once (no added latency); a busy one sends fewer, larger requests (under
 * load, throughput grows with the batch instead of paying a produce round
 * trip per message). Each caller's promise settles with its own batch.
 */
export class CoalescingSender {
  private readonly topics = new Map<string, TopicState>();

  constructor(
    private readonly sendBatch: SendBatch,
    private readonly options: CoalescingOptions,
  ) {}

  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    let state = this.topics.get(topic);
    if (!state) {
      state = { inFlight: false, queue: [] };
      this.topics.set(topic, state);
    }
    const queued = new Promise<void>((resolve, reject) => state.queue.push({ messages, bytes: sizeOf(messages), resolve, reject }));
    if (!state.inFlight) void this.drain(topic, state);
    return queued;
  }

  private async drain(topic: string, state: TopicState): Promise<void> {
    state.inFlight = true;
    while (state.queue.length > 0) {
      const batch = this.cut(state.queue);
      const messages = batch.flatMap((w) => w.messages);
      try {
        await this.sendBatch(topic, messages);
        for (const w of batch) w.resolve();
      } catch (e) {
        if (batch.length > 1 && this.options.splitOn(e)) await this.oneByOne(topic, batch);
        else for (const w of batch) w.reject(e);
      }
    }
    state.inFlight = false;
    this.topics.delete(topic);
  }

  /** Take from the queue's head as many as fit in one batch (at least one). */
  private cut(queue: Waiting[]): Waiting[] {
    let bytes = queue[0]!.bytes;
    let n = 1;
    while (n < queue.length && bytes + queue[n]!.bytes <= this.options.maxBatchBytes) bytes += queue[n++]!.bytes;
    return queue.splice(0, n);
  }

  private async oneByOne(topic: string, batch: Waiting[]): Promise<void> {
    for (const w of batch) {
      try {
        await this.sendBatch(topic, w.messages);
        w.resolve();
      } catch (e) {
        w.reject(e);
      }
    }
  }
}
