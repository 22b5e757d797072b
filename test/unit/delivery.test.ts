import { unconfirmed } from '../../src/kafka/delivery';

describe('unconfirmed: messages a produce answer does not confirm', () => {
  const placed = new Map<string, number>([
    ['a', 0],
    ['b', 1],
    ['c', 2],
  ]);
  const placedOf = (m: string) => placed.get(m);

  it('confirms every message whose partition answered without error', () => {
    const answers = [0, 1, 2].map((partition) => ({ topicName: 't', partition, errorCode: 0 }));
    expect(unconfirmed('t', ['a', 'b', 'c'], placedOf, answers)).toEqual([]);
  });

  it('returns the messages of a partition missing from the answers (kafkajs skipped it on a retry)', () => {
    const answers = [
      { topicName: 't', partition: 0, errorCode: 0 },
      { topicName: 't', partition: 1, errorCode: 0 },
    ];
    expect(unconfirmed('t', ['a', 'b', 'c', 'c'], placedOf, answers)).toEqual(['c', 'c']);
  });

  it('does not take an answer for another topic, or an error, as a confirmation', () => {
    const answers = [
      { topicName: 'other', partition: 0, errorCode: 0 },
      { topicName: 't', partition: 1, errorCode: 6 },
      { topicName: 't', partition: 2, errorCode: 0 },
    ];
    expect(unconfirmed('t', ['a', 'b', 'c'], placedOf, answers)).toEqual(['a', 'b']);
  });

  it('counts a message the partitioner never placed as unconfirmed', () => {
    expect(unconfirmed('t', ['z'], placedOf, [{ topicName: 't', partition: 0, errorCode: 0 }])).toEqual(['z']);
  });
});
