/**
 * The local Apache Kafka broker of a source checkout: src/broker/local.ts
 * (shipped in the package as `kafka-fusion broker`), run through tsx.
 *
 *   tsx scripts/broker.ts up|down|status|restart [--kill] [--down-for <s>]
 */
import { runBroker } from '../src/broker/local';

// A command-line tool ends when its work is done: a client socket or timer
// that kafkajs leaves behind after disconnect must not keep it waiting (a
// caller waiting for `up` to exit once hung on one for minutes).
void runBroker(process.argv.slice(2)).then((code) => process.exit(code));
