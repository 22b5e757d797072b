/**
 * TopicDirectory with a stand-in topic list: a write to a topic that does
 * not exist is refused at once, lookups share one listing, a topic created
 * since the last listing is found, and a topic seen once is not looked up
 * again until a write to it fails as unknown.
 */
import { UnknownTopicError } from '../../src/errors';
import { TopicDirectory } from '../../src/kafka/topic-directory';

function directory(topics: string[]) {
  const state = { topics, listings: 0 };
  const dir = new TopicDirectory(async () => {
    state.listings++;
    return [...state.topics];
  });
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
  let now = 0;
  const dir = new TopicDirectory(
    () =>
      new Promise<string[]>((resolve) => {
        listings++;
        const snapshot = [...topics];
        release = () => resolve(snapshot);
      }),
    () => now,
  );
  const first = dir.check('other'); // begins a listing at 0, before 'fresh' exists
  now = 10;
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

test('a listing that fails rejects the lookups that waited for it, and the next lookup lists again', async () => {
  let fail = true;
  let listings = 0;
  const dir = new TopicDirectory(async () => {
    listings++;
    if (fail) throw new Error('broker away');
    return ['t'];
  });
  await expect(Promise.all([dir.check('t'), dir.check('t')])).rejects.toThrow('broker away');
  fail = false;
  await expect(dir.check('t')).resolves.toBeUndefined();
  expect(listings).toBe(2);
});
