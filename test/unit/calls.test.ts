/** ActiveCalls: the one deadline of a call, with its retries. */
import { ActiveCalls, type CallOutcome } from '../../src/calls/calls';

const outcome = {
  result: 1,
  correlationId: 'c',
  returnTopic: 't',
  timings: { createTopicMs: 0, joinMs: 0, roundTripMs: 0, totalMs: 0, retries: 0 },
} satisfies CallOutcome<number>;

test("a call's deadline is never later than notAfter, however long its timeout (a dependency is not told a later deadline than its caller's)", async () => {
  const calls = new ActiveCalls();
  const notAfter = Date.now() + 1000;
  let seen = 0;
  await calls.run({ timeoutMs: 60000, notAfter }, async (o) => ((seen = o.deadlineAt), outcome));
  expect(seen).toBe(notAfter);
  // Without it, the timeout decides.
  const before = Date.now();
  await calls.run({ timeoutMs: 5000 }, async (o) => ((seen = o.deadlineAt), outcome));
  expect(seen).toBeGreaterThanOrEqual(before + 5000);
  expect(seen).toBeLessThanOrEqual(Date.now() + 5000);
});
