/**
 * The Reactor's message handling without a broker: a MessageHandler with a
 * stand-in transport (dependency calls) and a Responder writing to a
 * stand-in channel. Each row of the outcome table, from a message as read
 * to what was written where and how it is counted.
 */
import { Subject } from 'rxjs';
import type { CallOptions } from '../../src/calls/calls';
import { RemoteError, TransportError } from '../../src/errors';
import { EventHub } from '../../src/events';
import type { InboundMessage } from '../../src/kafka/consumer';
import type { OutboundMessage } from '../../src/kafka/producer';
import { DEAD_LETTER_HEADERS as DLQ } from '../../src/protocol/headers';
import type { ReactorEvents } from '../../src/reactor/events';
import { MessageHandler, settle } from '../../src/reactor/handling';
import { resolveReactorOptions } from '../../src/reactor/options';
import { Responder, type ReplyChannel } from '../../src/reactor/responder';
import type { DepsFn, ProcFn, ReactorOutput } from '../../src/reactor/types';
import { Metrics } from '../../src/telemetry/metrics';

const RETURN = 'kafka-fusion.reply.0190a0b0-0000-7000-8000-000000000001';

/** A request as a caller writes it (the envelope format), as read from partition 0 at offset 7. */
function request(fields: Record<string, unknown>, value?: Buffer): InboundMessage {
  return {
    topic: 'orders',
    partition: 0,
    offset: '7',
    key: Buffer.from('k'),
    value: value ?? Buffer.from(JSON.stringify({ data: [1, 2], correlationId: 'c-1', ...fields })),
    headers: {},
    timestamp: '0',
  };
}

/** A handler over stand-ins; `failReply` makes replies fail as given. */
function harness(depsFn: DepsFn<number[]>, procFn: ProcFn<number[], unknown>, opts: { failReply?: () => Error; failDeadLetter?: boolean } = {}) {
  const written: { topic: string; message: OutboundMessage }[] = [];
  const errors: unknown[] = [];
  const outputs: ReactorOutput<number[], unknown>[] = [];
  const calls: { topic: string; data: unknown; opts: CallOptions }[] = [];
  const channel: ReplyChannel = {
    sendReply: async (topic, message) => {
      if (opts.failReply) throw opts.failReply();
      written.push({ topic, message });
    },
    send: async (topic, messages) => {
      if (opts.failDeadLetter) throw new TransportError('broker away');
      for (const message of messages) written.push({ topic, message });
    },
    partitionCount: async () => 1,
  };
  const subject = new Subject<ReactorOutput<number[], unknown>>();
  subject.subscribe((o) => outputs.push(o));
  const options = resolveReactorOptions<number[], unknown>({ mainTopic: 'orders', groupId: 'orders-svc', subject, onError: (e) => errors.push(e) });
  const events = new EventHub<ReactorEvents>('reactor', options.onError);
  const meters = new Metrics('orders', { topic: 'orders', group: 'orders-svc' });
  const responder = new Responder(channel, { ...options, onDeadLettered: () => undefined });
  const handler = new MessageHandler<number[], unknown>(
    {
      options,
      responder,
      call: async (_mode, topic, data, callOpts) => {
        calls.push({ topic, data, opts: callOpts });
        if (topic === 'broken') throw new RemoteError('broken', { name: 'Error', message: 'no stock' });
        return { result: 42, correlationId: 'x', returnTopic: 'r', timings: { createTopicMs: 0, joinMs: 0, roundTripMs: 0, totalMs: 0, retries: 0 } };
      },
      events,
      meters,
      callInstruments: { emit: events.emit.bind(events) as never, metrics: meters },
      encoding: { codec: options.codec, wire: options.wire, interopHeaders: options.interopHeaders },
      shutdown: new AbortController().signal,
    },
    depsFn,
    procFn,
  );
  const counted = () => meters.snapshot().messages;
  const to = (topic: string) => written.filter((w) => w.topic === topic);
  const text = (m: OutboundMessage, header: string) => String(m.headers?.[header]);
  return { handler, responder, written, to, text, errors, outputs, calls, counted };
}

const noDeps: DepsFn<number[]> = () => undefined;
const sum: ProcFn<number[], unknown> = (m) => m.value.reduce((a, b) => a + b, 0);

test('a result is replied to its return topic, told to the Subject, and counted ok', async () => {
  const h = harness(noDeps, sum);
  await h.handler.handle(request({ returnTopic: RETURN }), async () => undefined);
  expect(h.to(RETURN).map((w) => JSON.parse(String(w.message.value)))).toEqual([{ correlationId: 'c-1', result: 3 }]);
  expect(h.outputs.map((o) => ('result' in o ? o.result : o.error))).toEqual([3]);
  expect(h.counted()).toMatchObject({ received: 1, ok: 1, failed: 0, deadLettered: 0 });
});

test('a DAG runs its calls and procFn gets their results', async () => {
  const h = harness(
    () => ({ stock: { topic: 'stock', args: [] } }),
    (_m, r) => r,
  );
  await h.handler.handle(request({ returnTopic: RETURN }), async () => undefined);
  expect(h.calls.map((c) => c.topic)).toEqual(['stock']);
  expect(JSON.parse(String(h.to(RETURN)[0]!.message.value))).toEqual({ correlationId: 'c-1', result: { stock: 42 } });
});

test('a failed DAG is an error reply, counted failed, not dead-lettered', async () => {
  const h = harness(() => ({ stock: { topic: 'broken', args: [] } }), sum);
  await h.handler.handle(request({ returnTopic: RETURN }), async () => undefined);
  expect(JSON.parse(String(h.to(RETURN)[0]!.message.value))).toMatchObject({ correlationId: 'c-1', error: { name: 'DagRunError' } });
  expect(h.to('orders.dlq')).toEqual([]);
  expect(h.counted()).toMatchObject({ failed: 1, deadLettered: 0 });
});

test('a depsFn that throws: the caller is told, and the message is dead-lettered (no DAG was run)', async () => {
  const h = harness(() => {
    throw new Error('bad deps');
  }, sum);
  await h.handler.handle(request({ returnTopic: RETURN }), async () => undefined);
  expect(JSON.parse(String(h.to(RETURN)[0]!.message.value))).toMatchObject({ error: { message: 'bad deps' } });
  expect(h.to('orders.dlq').map((w) => h.text(w.message, DLQ.reason))).toEqual(['bad deps']);
  expect(h.counted()).toMatchObject({ deadLettered: 1 });
});

test('a failure with nobody to tell (no return topic) is dead-lettered', async () => {
  const h = harness(noDeps, () => {
    throw new Error('procFn failed');
  });
  await h.handler.handle(request({}), async () => undefined);
  expect(h.written.map((w) => w.topic)).toEqual(['orders.dlq']);
  expect(h.counted()).toMatchObject({ deadLettered: 1 });
});

test('an unreadable request and a return topic off the allow-list are dead-lettered, nothing written elsewhere', async () => {
  const h = harness(noDeps, sum);
  await h.handler.handle(request({}, Buffer.from([0x7b, 0xff, 0x7d])), async () => undefined);
  await h.handler.handle(request({ returnTopic: 'payments' }), async () => undefined);
  expect(h.written.map((w) => w.topic)).toEqual(['orders.dlq', 'orders.dlq']);
  expect(h.text(h.written[1]!.message, DLQ.reason)).toContain('is not allowed (returnTopicAllowList)');
  expect(h.counted()).toMatchObject({ received: 2, deadLettered: 2 });
});

test('a request whose caller stopped waiting is not started, and counted expired', async () => {
  const h = harness(() => {
    throw new Error('must not run');
  }, sum);
  await h.handler.handle(request({ returnTopic: RETURN, deadline: Date.now() - 1 }), async () => undefined);
  expect(h.written).toEqual([]);
  expect(h.handler.notStarted).toBe(1);
  expect(h.counted()).toMatchObject({ expired: 1 });
});

test('a reply to a gone return topic is counted, not retried; one refused for good is dead-lettered', async () => {
  const gone = harness(noDeps, sum, { failReply: () => new TransportError('could not send', undefined, true, 'unknown-topic') });
  await gone.handler.handle(request({ returnTopic: RETURN }), async () => undefined);
  expect(gone.responder.repliesToGoneTopics).toBe(1);
  expect(gone.counted()).toMatchObject({ ok: 1 });
  const refused = harness(noDeps, sum, { failReply: () => new TransportError('could not send', undefined, false, 'too-large') });
  await refused.handler.handle(request({ returnTopic: RETURN }), async () => undefined);
  expect(refused.to('orders.dlq')).toHaveLength(1);
  expect(refused.counted()).toMatchObject({ deadLettered: 1 });
});

test('a reply or a dead letter that fails for now throws, so that the message is read again', async () => {
  const away = harness(noDeps, sum, { failReply: () => new TransportError('broker away') });
  await expect(away.handler.handle(request({ returnTopic: RETURN }), async () => undefined)).rejects.toBeInstanceOf(TransportError);
  expect(away.errors).toHaveLength(1);
  const noDlq = harness(noDeps, sum, { failDeadLetter: true });
  await expect(noDlq.handler.handle(request({ returnTopic: 'payments' }), async () => undefined)).rejects.toThrow(
    /could not be dead-lettered .* it will be read again/,
  );
});

test('settle: the outcome table, every row', () => {
  const rows: [boolean, 'deps' | 'run' | 'proc', boolean, 'none' | 'sent' | 'gone' | 'expired' | 'dead_lettered', string][] = [
    [true, 'proc', true, 'sent', 'ok'],
    [true, 'proc', true, 'gone', 'ok'],
    [true, 'proc', false, 'none', 'ok'],
    [true, 'proc', true, 'expired', 'expired'],
    [true, 'proc', true, 'dead_lettered', 'dead_lettered'],
    [false, 'deps', true, 'sent', 'dead_letter'],
    [false, 'deps', true, 'expired', 'dead_letter'],
    [false, 'proc', false, 'none', 'dead_letter'],
    [false, 'run', true, 'sent', 'failed'],
    [false, 'proc', true, 'gone', 'failed'],
    [false, 'run', true, 'expired', 'expired'],
    [false, 'run', true, 'dead_lettered', 'dead_lettered'],
  ];
  for (const [ok, stage, hasReturnTopic, reply, outcome] of rows) {
    expect({ ok, stage, hasReturnTopic, reply, outcome: settle({ ok, stage, hasReturnTopic }, reply) }).toEqual({ ok, stage, hasReturnTopic, reply, outcome });
  }
});
