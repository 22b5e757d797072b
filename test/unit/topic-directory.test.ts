/**
 * TopicDirectory with a stand-in topic list: a write to a topic that does
 * not exist is refused at once, lookups share one listing, a topic created
 * since the last listing is found, and a topic seen once is not looked up
 * again until a write to it fails as unknown.
 */
import { AuthorizationError, UnknownTopicError } from '../../src/errors';
import { TopicDirectory } from '../../src/kafka/topic-directory';

/** A directory over a stand-in list; `settleMs` [] refuses a miss at its first listing. */
function directory(topics: string[], settleMs: number[] = []) {
  const state = { topics, listings: 0 };
  const dir = new TopicDirectory(async () => {
    state.listings++;
    return [...state.topics];
  }, settleMs);
  return { dir, state };
}

test('a topic that exists passes; one that does not is an UnknownTopicError naming it', async () => {
  const { dir } = directory(['orders']);
  await expect(dir.check('orders')).resolves.toBeUndefined();
  await expect(dir.check('ordres')).rejects.toThrow(new UnknownTopicError('ordres'));
  await expect(dir.check('ordres')).rejects.toMatchObject({ topic: 'ordres', retriable: false, code: 'KF_UNKNOWN_TOPIC' });
});

test('concurrent lookups share one listing; a known topic needs none', async () => {
  const { dir, state } = directory(['a', 'b']);
  await Promise.all([dir.check('a'), dir.check('b'), dir.check('a')]);
  expect(state.listings).toBe(1);
  await dir.check('b');
  expect(state.listings).toBe(1);
});

test('a missing topic is looked up again each time, so one created since is found', async () => {
  const { dir, state } = directory([]);
  await expect(dir.check('late')).rejects.toBeInstanceOf(UnknownTopicError);
  expect(state.listings).toBe(1);
  state.topics.push('late');
  await expect(dir.check('late')).resolves.toBeUndefined();
  expect(state.listings).toBe(2);
});

test('a listing begun before a lookup is not trusted to say a topic is missing: it is asked once more', async () => {
  let release!: () => void;
  const topics: string[] = [];
  let listings = 0;
  const dir = new TopicDirectory(
    () =>
      new Promise<string[]>((resolve) => {
        listings++;
        const snapshot = [...topics];
        release = () => resolve(snapshot);
      }),
    [],
  );
  const first = dir.check('other'); // begins a listing before 'fresh' exists
  topics.push('fresh');
  const second = dir.check('fresh'); // joins it, then must list again
  release();
  await expect(first).rejects.toBeInstanceOf(UnknownTopicError);
  await new Promise((r) => setImmediate(r));
  release();
  await expect(second).resolves.toBeUndefined();
  expect(listings).toBe(2);
});

test('forget(): a topic whose write failed as unknown is looked up again', async () => {
  const { dir, state } = directory(['t']);
  await dir.check('t');
  state.topics = [];
  dir.forget('t');
  await expect(dir.check('t')).rejects.toBeInstanceOf(UnknownTopicError);
  expect(state.listings).toBe(2);
});

test('a miss is looked up again a few times before it is refused: a topic another broker lists a moment later is found', async () => {
  const { dir, state } = directory([], [1, 1, 1]);
  const lookup = dir.check('lagging');
  await new Promise((r) => setImmediate(r));
  state.topics.push('lagging'); // listed by the second look
  await expect(lookup).resolves.toBeUndefined();
  await expect(dir.check('never')).rejects.toBeInstanceOf(UnknownTopicError);
  expect(state.listings).toBeGreaterThanOrEqual(2 + 4);
});

test('a listing that fails rejects the lookups that waited for it, and the next lookup lists again', async () => {
  let fail = true;
  let listings = 0;
  const dir = new TopicDirectory(async () => {
    listings++;
    if (fail) throw new Error('broker away');
    return ['t'];
  }, []);
  await expect(Promise.all([dir.check('t'), dir.check('t')])).rejects.toThrow('broker away');
  fail = false;
  await expect(dir.check('t')).resolves.toBeUndefined();
  expect(listings).toBe(2);
});

test('a topic never listed is explained by `missing`: a refusal is told as it is, and one that exists after all passes', async () => {
  const refusal = new AuthorizationError({ operation: 'Write', resourceType: 'topic', resource: 'secret', pattern: 'literal' });
  const dir = new TopicDirectory(
    async () => ['orders'],
    [],
    async (topic) => (topic === 'secret' ? refusal : topic === 'hidden-but-there' ? undefined : new UnknownTopicError(topic)),
  );
  await expect(dir.check('secret')).rejects.toBe(refusal);
  await expect(dir.check('nope')).rejects.toBeInstanceOf(UnknownTopicError);
  await expect(dir.check('hidden-but-there')).resolves.toBeUndefined();
});
