import { CoalescingSender } from '../../src/kafka/coalesce';
import type { OutboundMessage } from '../../src/kafka/producer';

/** A fake producer whose sends settle when the test says. */
function fakeProducer() {
  const sends: { topic: string; values: string[]; settle: (e?: unknown) => void }[] = [];
  const sendBatch = (topic: string, messages: OutboundMessage[]) =>
    new Promise<void>((resolve, reject) =>
      sends.push({ topic, values: messages.map((m) => String(m.value)), settle: (e) => (e === undefined ? resolve() : reject(e)) }),
    );
  return { sends, sendBatch };
}

const msg = (value: string): OutboundMessage[] => [{ value }];
const flush = () => new Promise((r) => setImmediate(r));

describe('CoalescingSender', () => {
  test('an idle topic sends at once; what arrives while a send is in flight goes together in the next one', async () => {
    const p = fakeProducer();
    const c = new CoalescingSender(p.sendBatch, { maxBatchBytes: 1000, splitOn: () => false });
    const first = c.send('t', msg('a'));
    expect(p.sends.map((s) => s.values)).toEqual([['a']]);
    const rest = [c.send('t', msg('b')), c.send('t', msg('c')), c.send('t', msg('d'))];
    const other = c.send('u', msg('x')); // another topic is not held up
    expect(p.sends.map((s) => [s.topic, s.values])).toEqual([
      ['t', ['a']],
      ['u', ['x']],
    ]);
    p.sends[0]!.settle();
    await first;
    await flush();
    expect(p.sends[2]).toMatchObject({ topic: 't', values: ['b', 'c', 'd'] });
    p.sends[2]!.settle();
    p.sends[1]!.settle();
    await Promise.all([...rest, other]);
  });

  test('a batch is cut before it passes maxBatchBytes; a message larger than that goes alone', async () => {
    const p = fakeProducer();
    const c = new CoalescingSender(p.sendBatch, { maxBatchBytes: 10, splitOn: () => false });
    const all = [
      c.send('t', msg('0')),
      c.send('t', msg('aaaa')),
      c.send('t', msg('bbbb')),
      c.send('t', msg('cccc')),
      c.send('t', msg('x'.repeat(50))),
      c.send('t', msg('d')),
    ];
    for (let i = 0; i < 5; i++) {
      p.sends[i]!.settle();
      await flush();
    }
    await Promise.all(all);
    expect(p.sends.map((s) => s.values.join('+'))).toEqual(['0', 'aaaa+bbbb', 'cccc', 'x'.repeat(50), 'd']);
  });

  test('a failed batch rejects each of its callers; one refused for its content is sent again one by one, each with its own verdict', async () => {
    const p = fakeProducer();
    const tooLarge = new Error('too large');
    const c = new CoalescingSender(p.sendBatch, { maxBatchBytes: 1000, splitOn: (e) => e === tooLarge });
    const head = c.send('t', msg('head'));
    const batch = [c.send('t', msg('ok')), c.send('t', msg('huge'))].map((s) =>
      s.then(
        () => 'sent',
        (e: Error) => e.message,
      ),
    );
    p.sends[0]!.settle(new Error('broker away'));
    await expect(head).rejects.toThrow('broker away');
    await flush();
    p.sends[1]!.settle(tooLarge); // ok+huge together
    await flush();
    p.sends[2]!.settle(); // ok alone
    await flush();
    p.sends[3]!.settle(tooLarge); // huge alone
    expect(await Promise.all(batch)).toEqual(['sent', 'too large']);
    expect(p.sends.map((s) => s.values.join('+'))).toEqual(['head', 'ok+huge', 'ok', 'huge']);
  });
});
