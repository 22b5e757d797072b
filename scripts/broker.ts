/**
 * The local Apache Kafka broker of a source checkout: src/broker/local.ts
 * (shipped in the package as `kafka-fusion broker`), run through tsx, with
 * its state in this checkout's .kafka/ (unless KAFKA_FUSION_STATE says).
 *
 *   tsx scripts/broker.ts up|down|status|restart [--kill] [--down-for <s>]
 */
import path from 'node:path';

process.env.KAFKA_FUSION_STATE ??= path.join(__dirname, '..', '.kafka');

// A command-line tool ends when its work is done: a client socket or timer
// that kafkajs leaves behind after disconnect must not keep it waiting (a
// caller waiting for `up` to exit once hung on one for minutes).
void import('../src/broker/local').then(({ runBroker }) => runBroker(process.argv.slice(2)).then((code) => process.exit(code)));
