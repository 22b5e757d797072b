import { probeBroker } from '../src/kafka/topic-tools';
import { brokersFromEnv } from '../src/kafka/client';

/** Fail fast, saying how to fix it, when the integration tests have no broker. */
export default async function globalSetup(): Promise<void> {
  const brokers = brokersFromEnv();
  try {
    await probeBroker({ brokers }, 60000);
  } catch (e) {
    throw new Error(
      `No Kafka broker answers at ${brokers.join(',')}. Run \`npm run kafka:up\` (or \`npm test\`, which starts it), or set KAFKA_BROKERS. ${(e as Error).message}`,
    );
  }
}
