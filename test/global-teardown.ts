import { topicAdmin } from '../src/kafka/topic-tools';
import { brokersFromEnv } from '../src/kafka/client';
import { EPHEMERAL_TOPIC_PREFIX } from '../src/naming';

/** The suite as a whole must leave no ephemeral return topic behind. */
export default async function globalTeardown(): Promise<void> {
  const admin = topicAdmin({ brokers: brokersFromEnv() });
  try {
    const left = await admin.list(EPHEMERAL_TOPIC_PREFIX);
    if (left.length > 0) throw new Error(`the test run leaked ${left.length} ephemeral topic(s): ${left.join(', ')}`);
    // Test-made main topics are removed too, so a reused broker stays clean.
    const tests = await admin.list('kf-test-');
    await admin.deleteNow(tests);
  } finally {
    await admin.close();
  }
}
