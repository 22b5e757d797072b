/**
 * Is any bootstrap broker there at all? One TCP connect per address, side by
 * side, before kafkajs is asked to connect: kafkajs would retry a wrong
 * address for seconds, logging an ERROR with a stack trace per attempt, and
 * then fail without saying where the address came from.
 */
import net from 'node:net';
import tls from 'node:tls';
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
  if (code === 'ENOTFOUND') return 'no such host';
  if (code === 'EAI_AGAIN') return 'the host name could not be looked up (DNS failed)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  return e.message;
}

/** One connect attempt: settles with why it failed, or undefined once connected; `cancel` closes it. */
export type Connect = (address: string, timeoutMs: number, secure: ResolvedConnection['tls']) => { outcome: Promise<string | undefined>; cancel: () => void };

function tryConnect(
  address: string,
  timeoutMs: number,
  secure: ResolvedConnection['tls'] = false,
): { outcome: Promise<string | undefined>; cancel: () => void } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at);
  const port = Number(address.slice(at + 1));
  // With TLS, the handshake too (as kafkajs makes it): a certificate the client does not trust, or a wrong name, fails here at once.
  const options =
    secure === false
      ? undefined
      : { ...(secure === true ? {} : secure), host, port, servername: (secure !== true && secure.servername) || (net.isIP(host) ? undefined : host) };
  const socket = options ? tls.connect(options) : net.connect({ host, port });
  let settle!: (problem: string | undefined) => void;
  const outcome = new Promise<string | undefined>((resolve) => (settle = resolve));
  const done = (problem: string | undefined) => {
    socket.removeAllListeners();
    socket.on('error', () => undefined);
    socket.destroy();
    settle(problem);
  };
  socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
  socket.once(options ? 'secureConnect' : 'connect', () => done(undefined));
  socket.once('error', (e) => done(options ? `TLS: ${why(e)}` : why(e)));
  return { outcome, cancel: () => done('not needed') };
}

/**
 * Resolves as soon as one bootstrap address accepts a connection (the
 * other attempts are closed); rejects with one TransportError naming every
 * address, why each failed, and where the list came from, after at most
 * `connectionTimeoutMs`.
 */
export async function checkReachable(connection: ResolvedConnection, connect: Connect = tryConnect): Promise<void> {
  const attempts = connection.brokers.map((b) => connect(b, connection.connectionTimeoutMs, connection.tls));
  const reached = await new Promise<boolean>((resolve) => {
    let failed = 0;
    for (const a of attempts) void a.outcome.then((problem) => (problem === undefined ? resolve(true) : ++failed === attempts.length && resolve(false)));
  });
  for (const a of attempts) a.cancel();
  if (reached) return;
  const problems = await Promise.all(attempts.map((a) => a.outcome));
  const each = connection.brokers.map((b, i) => `${b} (${problems[i]})`).join(', ');
  throw new TransportError(`could not connect to a Kafka broker at ${each}; the address is ${origin(connection.brokersFrom)}`);
}
