/**
 * checkReachable against local sockets (no Kafka needed: it only asks
 * whether anything accepts a TCP connection at each bootstrap address).
 */
import net from 'node:net';
import { TransportError } from '../../src/errors';
import { resolveConnection } from '../../src/kafka/client';
import { checkReachable } from '../../src/kafka/reach';
import { closedPort } from '../helpers/net';
import { waitFor } from '../helpers/wait';

test('nothing listening: one TransportError naming the address, why, and that it came from connection.brokers', async () => {
  const port = await closedPort();
  const started = Date.now();
  const failure = checkReachable(resolveConnection({ brokers: [`127.0.0.1:${port}`] }));
  await expect(failure).rejects.toThrow(
    new TransportError(
      `could not connect to a Kafka broker at 127.0.0.1:${port} (connection refused: nothing listens there); the address is from the option connection.brokers`,
    ),
  );
  expect(Date.now() - started).toBeLessThan(3000);
});

test('the default address says it is the default, and how to set another', async () => {
  const connection = { ...resolveConnection({ brokers: [`127.0.0.1:${await closedPort()}`] }), brokersFrom: 'default' as const };
  await expect(checkReachable(connection)).rejects.toThrow('the address is the default, as neither connection.brokers nor KAFKA_BROKERS was set');
});

test('KAFKA_BROKERS is named when the list came from it', async () => {
  const port = await closedPort();
  const saved = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = `127.0.0.1:${port}`;
  try {
    await expect(checkReachable(resolveConnection({}))).rejects.toThrow(
      `could not connect to a Kafka broker at 127.0.0.1:${port} (connection refused: nothing listens there); the address is from the environment variable KAFKA_BROKERS`,
    );
  } finally {
    if (saved === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = saved;
  }
});

test('one address that answers is enough, and every socket is closed', async () => {
  const server = net.createServer(); // keeps what it accepts open: only the client can close it
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  try {
    await expect(checkReachable(resolveConnection({ brokers: [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${port}`] }))).resolves.toBeUndefined();
    const connections = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
    await waitFor(async () => (await connections()) === 0, 'the probe to close its socket', 5000);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('the first address that answers is enough: one that hangs is not waited for, and is closed', async () => {
  const cancelled: string[] = [];
  const connect = (address: string) => ({
    outcome: address === 'live:1' ? Promise.resolve(undefined) : new Promise<string | undefined>(() => undefined), // never settles
    cancel: () => void cancelled.push(address),
  });
  await expect(checkReachable(resolveConnection({ brokers: ['hangs:1', 'live:1'], connectionTimeoutMs: 60000 }), connect)).resolves.toBeUndefined();
  expect(cancelled.sort()).toEqual(['hangs:1', 'live:1']);
});
