/**
 * The scheduled Sweeper with a stand-in admin: a refused ACL is told once
 * to onError, naming the prefix to grant, and ends the sweeping; any other
 * failure is told and the sweeping goes on.
 */
import { v7 as uuidv7 } from 'uuid';
import { AuthorizationError, TransportError } from '../../src/errors';
import { EPHEMERAL_TOPIC_PREFIX } from '../../src/naming';
import { Sweeper } from '../../src/calls/sweeper';
import type { TopicAdmin } from '../../src/kafka/topics';
import { waitFor } from '../helpers/wait';

/** An admin that lists one orphan (named ten minutes ago) and fails each delete with `failure`. */
function standIn(failure: () => Error) {
  const orphan = `${EPHEMERAL_TOPIC_PREFIX}${uuidv7({ msecs: Date.now() - 600000 })}`;
  const calls = { deletes: 0 };
  const admin = {
    list: async () => [orphan],
    writtenSince: async (topics: string[]) => new Map(topics.map((t) => [t, false])),
    deleteNow: async () => {
      calls.deletes++;
      throw failure();
    },
  } as unknown as TopicAdmin;
  return { admin, calls };
}

test('a refused delete is told once, as a grant on the prefix, and the sweeper stops', async () => {
  const refusal = () =>
    new AuthorizationError({ operation: 'Delete', resourceType: 'topic', resource: 'kafka-fusion.reply.0190', pattern: 'literal', principal: 'User:api' });
  const { admin, calls } = standIn(refusal);
  const told: unknown[] = [];
  const sweeper = new Sweeper(admin, { intervalMs: 5, olderThanMs: 300000, prefix: EPHEMERAL_TOPIC_PREFIX, owned: () => [], onError: (e) => told.push(e) });
  sweeper.start();
  await waitFor(async () => told.length === 1, 'the refusal told', 10000, 5);
  expect(told[0]).toMatchObject({
    name: 'AuthorizationError',
    operation: 'Delete',
    resource: EPHEMERAL_TOPIC_PREFIX,
    pattern: 'prefixed',
    principal: 'User:api',
  });
  expect((told[0] as Error).message).toContain('the sweeper stops until restart');
  // Asked to sweep again (as its timer would every 5 ms), it does nothing.
  for (let i = 0; i < 5; i++) await sweeper.sweep();
  expect({ deletes: calls.deletes, told: told.length, refused: sweeper.refused?.operation }).toEqual({ deletes: 1, told: 1, refused: 'Delete' });
  await sweeper.stop();
});

test('any other failure is told and the sweeping goes on', async () => {
  const { admin, calls } = standIn(() => new TransportError('broker away'));
  const told: unknown[] = [];
  const sweeper = new Sweeper(admin, { intervalMs: 5, olderThanMs: 300000, prefix: EPHEMERAL_TOPIC_PREFIX, owned: () => [], onError: (e) => told.push(e) });
  sweeper.start();
  await waitFor(async () => calls.deletes >= 3, 'three sweeps', 10000, 5);
  await sweeper.stop();
  expect(told.every((e) => e instanceof TransportError)).toBe(true);
  expect(sweeper.refused).toBeUndefined();
});
