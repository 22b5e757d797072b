/**
 * `npm run demo`: starts the math services and the HTTP API in this process
 * (the broker was started by the npm script if none is configured), sends a
 * few POST /calc requests, prints results and per-node timings, shuts down.
 */
import type { AddressInfo } from 'node:net';
import { createPipeline } from '../../src';
import { createApi } from './api';
import { startMathServices, type CalcRequest } from './services';

async function main(): Promise<void> {
  const t0 = Date.now();
  const services = await startMathServices();
  services.calcOutputs.subscribe((o) => {
    if (!o.run) return;
    const start = o.run.startedAt;
    const nodes = Object.values(o.run.outcomes)
      .map((n) => `${n.id} ${n.status} +${(n.startedAt ?? start) - start}..${(n.finishedAt ?? start) - start} ms`)
      .join(', ');
    console.log(`    calc ${JSON.stringify(o.message.value)}: ${nodes}`);
  });
  const pipeline = await createPipeline();
  const server = createApi(pipeline);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/calc`;
  console.log(`services and API ready in ${Date.now() - t0} ms; POST ${url}`);

  const requests: CalcRequest[] = [
    { numbers: [1, 2, 3], subtract: 2, multiply: 1 }, // fusion-clj's README: add -> 6, subtract [6, 2] -> 4
    { numbers: [10, 20, 30], subtract: 15, multiply: 3 },
    { numbers: [2, 2], subtract: 1, multiply: 7 },
  ];
  for (const body of requests) {
    const t = Date.now();
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    console.log(`POST /calc ${JSON.stringify(body)} -> ${res.status} ${await res.text()} (${Date.now() - t} ms)`);
  }
  const bad = await fetch(url, { method: 'POST', body: JSON.stringify({ numbers: 'oops', subtract: 1, multiply: 1 }) });
  console.log(`POST /calc with bad numbers -> ${bad.status} ${await bad.text()}`);

  await new Promise<void>((r) => server.close(() => r()));
  await pipeline.close();
  await services.shutdown();
  console.log(`demo done in ${Date.now() - t0} ms`);
}

main().catch((e: Error) => {
  console.error(e);
  process.exitCode = 1;
});
