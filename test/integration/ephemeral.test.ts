/**
 * Ephemeral reply mode's return topics created ahead, in batches
 * (spareReturnTopics): a call takes one that is ready instead of waiting for
 * a creation; each topic still serves exactly one call; none outlives its
 * Pipeline.
 */
import { ephemeralTopicsOnBroker } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

describe('return topics created ahead', () => {
  test('after the first call, calls take a topic created ahead: no creation on their path, and never a topic used before', async () => {
    const svc = await startService<number, number>((n) => n + 1);
    const pipeline = await startPipeline({ spareReturnTopics: 2 });
    const first = await pipeline.call<number>(svc.topic, 1);
    expect(first.result).toBe(2);
    expect(first.timings.createTopicMs).toBeGreaterThan(0); // nothing was ready yet

    const used = new Set([first.returnTopic]);
    for (let i = 0; i < 10; i++) {
      await waitFor(async () => pipeline.readyReturnTopics > 0, 'a topic created ahead');
      const ready = await ephemeralTopicsOnBroker();
      const out = await pipeline.call<number>(svc.topic, i);
      expect(out.result).toBe(i + 1);
      expect(ready).toContain(out.returnTopic); // it existed before the call
      expect(used.has(out.returnTopic)).toBe(false); // one call per topic
      expect(out.timings.createTopicMs).toBe(0); // no creation on its path
      used.add(out.returnTopic);
    }
  });

  test('spareReturnTopics: 0 creates each topic on the call path and nothing ahead', async () => {
    const svc = await startService<number, number>((n) => n * 3);
    const pipeline = await startPipeline({ spareReturnTopics: 0 });
    for (let i = 0; i < 3; i++) {
      const out = await pipeline.call<number>(svc.topic, i);
      expect(out.result).toBe(i * 3);
      expect(out.timings.createTopicMs).toBeGreaterThan(0);
    }
    await waitFor(async () => (await ephemeralTopicsOnBroker()).length === 0, 'every return topic deleted, none created ahead');
  });
});
