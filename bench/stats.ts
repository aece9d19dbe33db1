// Shared measurement helpers: timing loops, percentiles, a latency histogram, /proc readings.
import { readFileSync } from "node:fs";

/** The middle value (the upper of the two middle ones for an even count). */
export const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/**
 * Median ns per call of `ours` and of `baseline`, measured in alternating rounds (after a warm-up of
 * each) so that both see the same moments of a shared machine: the ratio is the figure to trust.
 */
export function compareNsPerOp(
  ours: (i: number) => unknown,
  baseline: (i: number) => unknown,
  iterations = 200_000,
  rounds = 11,
): { ns: number; baselineNs: number } {
  let sink = 0;
  const round = (fn: (i: number) => unknown) => {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < iterations; i++) if (fn(i) === sink) sink++;
    return (Bun.nanoseconds() - t0) / iterations;
  };
  round(ours);
  round(baseline);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(round(ours));
    b.push(round(baseline));
  }
  return { ns: median(a), baselineNs: median(b) };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Latencies in 10 µs buckets up to 2 s: constant memory however many samples a load run takes. */
export function createHistogram() {
  const BUCKET_MS = 0.01;
  const counts = new Uint32Array(200_000);
  let n = 0;
  let max = 0;
  return {
    add(ms: number) {
      const v = Math.max(ms, 0);
      counts[Math.min(counts.length - 1, Math.floor(v / BUCKET_MS))]!++;
      n++;
      if (v > max) max = v;
    },
    get count() {
      return n;
    },
    get max() {
      return max;
    },
    percentile(p: number): number {
      if (n === 0) return NaN;
      const target = Math.ceil((p / 100) * n);
      let seen = 0;
      for (let i = 0; i < counts.length; i++) {
        seen += counts[i]!;
        if (seen >= target) return (i + 1) * BUCKET_MS;
      }
      return max;
    },
  };
}
export type Histogram = ReturnType<typeof createHistogram>;

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory of a process in KB, from /proc/<pid>/status. */
export function processRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

export const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "–");
