/**
 * Is any bootstrap broker there at all? One TCP connect per address, side by
 * side, before kafkajs is asked to connect: kafkajs would retry a wrong
 * address for seconds, logging an ERROR with a stack trace per attempt, and
 * then fail without saying where the address came from.
 */
import net from 'node:net';
import { TransportError } from '../errors';
import type { ResolvedConnection } from './client';

/** Where a broker list came from, in words a user can act on. */
function origin(from: ResolvedConnection['brokersFrom']): string {
  if (from === 'KAFKA_BROKERS') return 'from the environment variable KAFKA_BROKERS';
  if (from === 'connection.brokers') return 'from the option connection.brokers';
  if (from.startsWith('--')) return `from the command-line option ${from}`;
  return 'the default, as neither connection.brokers nor KAFKA_BROKERS was set';
}

/** Why one address did not answer, in words. */
function why(e: NodeJS.ErrnoException | Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused: nothing listens there';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  return e.message;
}

function tryConnect(address: string, timeoutMs: number): Promise<string | undefined> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at);
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem: string | undefined) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (e) => done(why(e)));
  });
}

/**
 * Resolves as soon as one bootstrap address accepts a connection; rejects
 * with one TransportError naming every address, why each failed, and where
 * the list came from, after at most `connectionTimeoutMs`.
 */
export async function checkReachable(connection: ResolvedConnection): Promise<void> {
  const problems = await Promise.all(connection.brokers.map((b) => tryConnect(b, connection.connectionTimeoutMs)));
  if (problems.some((p) => p === undefined)) return;
  const each = connection.brokers.map((b, i) => `${b} (${problems[i]})`).join(', ');
  throw new TransportError(`no Kafka broker answers at ${each}; the address is ${origin(connection.brokersFrom)}`);
}
