/** What a produce's answer confirms (pure: test/unit/delivery.test.ts). */

/** One partition's answer to a produce, as kafkajs reports it. */
export interface PartitionAnswer {
  topicName: string;
  partition: number;
  errorCode: number;
}

/**
 * The messages of a send to `topic` that no partition's answer confirmed:
 * those whose partition (`placedOf`; undefined when the partitioner never
 * saw the message) is missing from the answers or answered with an error.
 */
export function unconfirmed<M>(topic: string, messages: readonly M[], placedOf: (m: M) => number | undefined, answers: readonly PartitionAnswer[]): M[] {
  const written = new Set(answers.filter((a) => a.topicName === topic && a.errorCode === 0).map((a) => a.partition));
  return messages.filter((m) => {
    const p = placedOf(m);
    return p === undefined || !written.has(p);
  });
}
