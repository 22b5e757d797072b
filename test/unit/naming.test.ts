import {
  compileTopicRules,
  defaultDeadLetterTopic,
  EPHEMERAL_TOPIC_PREFIX,
  ephemeralTopicTime,
  isAllowedTopic,
  isValidTopicName,
  newEphemeralTopic,
} from '../../src/naming';

describe('return-topic allow-list', () => {
  const rules = compileTopicRules([EPHEMERAL_TOPIC_PREFIX, /^replies\.[a-z]+$/]);

  test.each<[string, unknown, boolean]>([
    ['a kafka-fusion return topic', newEphemeralTopic(), true],
    ['a topic a RegExp matches', 'replies.billing', true],
    ['a topic the RegExp does not match whole', 'replies.billing.x', false],
    ['a foreign topic', 'orders', false],
    ['the prefix inside another name', `evil.${EPHEMERAL_TOPIC_PREFIX}x`, false],
    ['an allowed prefix but an invalid name', `${EPHEMERAL_TOPIC_PREFIX}a/b`, false],
    ['an allowed prefix but too long a name', `${EPHEMERAL_TOPIC_PREFIX}${'x'.repeat(249)}`, false],
    ['not a string', 42, false],
  ])('%s: %s -> %s', (_what, topic, allowed) => {
    expect(isAllowedTopic(topic, rules)).toBe(allowed);
  });

  test('a global RegExp gives the same answer every time (no lastIndex state)', () => {
    const global = compileTopicRules([/^r-/g]);
    expect([1, 2, 3].map(() => isAllowedTopic('r-1', global))).toEqual([true, true, true]);
  });

  test('an empty list allows nothing', () => {
    expect(isAllowedTopic(newEphemeralTopic(), [])).toBe(false);
  });
});

describe('topic names', () => {
  test("Kafka's rule", () => {
    expect(['a', 'a.b_c-D9', 'x'.repeat(249)].every(isValidTopicName)).toBe(true);
    expect(['', '.', '..', 'a b', 'a/b', 'x'.repeat(250), null].some(isValidTopicName)).toBe(false);
  });

  test('dead-letter topic of a main topic', () => {
    expect(defaultDeadLetterTopic('orders')).toBe('orders.dlq');
  });
});

describe('ephemeral topic names carry their birth time', () => {
  test('a new name gives the time it was made', () => {
    const before = Date.now();
    const t = ephemeralTopicTime(newEphemeralTopic());
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  test('a known uuid v7 gives its milliseconds', () => {
    expect(ephemeralTopicTime('kafka-fusion.reply.01a21081-9105-764f-b996-33d9d030514f')).toBe(0x01a210819105);
  });

  test.each([
    'kafka-fusion.reply.kcat-123',
    'kafka-fusion.reply.01a21081-9105-464f-b996-33d9d030514f',
    'other.01a21081-9105-764f-b996-33d9d030514f',
    'kafka-fusion.reply.01a21081-9105-764f-b996-33d9d030514f.x',
  ])('not <prefix><uuid v7>, so never swept: %s', (name) => expect(ephemeralTopicTime(name)).toBeUndefined());
});
