/** Latency histograms (hdr-histogram-js, microsecond resolution) and throughput runs shared by the bench scenarios. */
import * as hdr from 'hdr-histogram-js';

export type Call = (i: number) => Promise<unknown>;

export interface Latency {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Sequential calls after a warm-up: percentiles in milliseconds. */
export async function latency(call: Call, n: number, warmup = Math.min(50, n)): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await call(i);
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call(i);
    h.recordValue(Number((process.hrtime.bigint() - t) / 1000n));
  }
  const ms = (us: number) => Math.round(us / 10) / 100;
  const out = { n, p50: ms(h.getValueAtPercentile(50)), p95: ms(h.getValueAtPercentile(95)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) };
  h.destroy();
  return out;
}

/** `total` calls by `concurrency` workers: requests per second. */
export async function throughput(call: Call, concurrency: number, total: number): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(total / seconds);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
