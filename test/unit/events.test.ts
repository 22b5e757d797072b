import diagnostics from 'node:diagnostics_channel';
import { EventHub } from '../../src/events';

interface E {
  ping: { n: number };
  pong: { s: string };
}

test('listeners by name, removable; one that throws goes to onError and the others still hear', () => {
  const errors: unknown[] = [];
  const hub = new EventHub<E>('test', (e) => errors.push(e));
  const heard: number[] = [];
  const off = hub.on('ping', (e) => heard.push(e.n));
  hub.on('ping', () => {
    throw new Error('bad listener');
  });
  hub.on('ping', (e) => heard.push(e.n * 10));
  hub.emit('ping', () => ({ n: 1 }));
  off();
  hub.emit('ping', () => ({ n: 2 }));
  hub.emit('pong', () => {
    throw new Error('a payload nobody listens to is never built');
  });
  expect(heard).toEqual([1, 10, 20]);
  expect(errors).toEqual([new Error('bad listener'), new Error('bad listener')]);
});

test('every event is published on its diagnostics channel, kafka-fusion:<source>.<name>', () => {
  const hub = new EventHub<E>('reactor', () => undefined);
  const got: unknown[] = [];
  const onMessage = (m: unknown) => got.push(m);
  diagnostics.subscribe('kafka-fusion:reactor.pong', onMessage);
  try {
    hub.emit('pong', () => ({ s: 'to the channel' }));
    hub.emit('ping', () => ({ n: 3 }));
  } finally {
    diagnostics.unsubscribe('kafka-fusion:reactor.pong', onMessage);
  }
  hub.emit('pong', () => ({ s: 'after unsubscribing' }));
  expect(got).toEqual([{ s: 'to the channel' }]);
});
