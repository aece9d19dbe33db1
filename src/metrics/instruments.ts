// The three kinds of instrument the server keeps, each holding its values in memory since the start.
import type { Family, Labels, Sample } from "./exposition.ts";

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  /** `extra` adds what is not folded in yet (live calls' counts) to each series at scrape time. */
  family(extra?: (labels: Labels) => number): Family;
}

export interface Histogram {
  observe(value: number): void;
  family(): Family;
}

/**
 * `preset` label sets are shown from the start at 0, so a rate() or an alert on them has a series to
 * work with before the first event; other label sets appear as they are counted.
 */
export function counter(name: string, help: string, labelNames: string[] = [], preset: Labels[] = []): Counter {
  const series = new Map<string, { labels: Labels; value: number }>();
  const key = (labels: Labels) => labelNames.map((n) => labels[n] ?? "").join("\u0000");
  const entry = (labels: Labels) => {
    const k = key(labels);
    let e = series.get(k);
    if (!e) {
      // Only the declared names, in their order, so a stray key never makes a new series.
      e = { labels: Object.fromEntries(labelNames.map((n) => [n, labels[n] ?? ""])), value: 0 };
      series.set(k, e);
    }
    return e;
  };
  if (labelNames.length === 0) entry({});
  for (const labels of preset) entry(labels);
  return {
    inc(labels = {}, by = 1) {
      entry(labels).value += by;
    },
    family: (extra = () => 0) => ({
      name,
      help,
      type: "counter",
      samples: [...series.values()].map((e) => ({ labels: e.labels, value: e.value + extra(e.labels) })),
    }),
  };
}

/** `buckets` are the upper bounds, ascending; +Inf is added. */
export function histogram(name: string, help: string, buckets: number[]): Histogram {
  const counts = buckets.map(() => 0);
  let sum = 0;
  let count = 0;
  return {
    observe(value) {
      // Counts are cumulative in the output, so each observation lands in its lowest bucket only.
      const i = buckets.findIndex((b) => value <= b);
      if (i >= 0) counts[i]!++;
      sum += value;
      count++;
    },
    family() {
      let running = 0;
      const samples: Sample[] = buckets.map((le, i) => {
        running += counts[i]!;
        return { suffix: "_bucket", labels: { le: String(le) }, value: running };
      });
      samples.push(
        { suffix: "_bucket", labels: { le: "+Inf" }, value: count },
        { suffix: "_sum", labels: {}, value: sum },
        { suffix: "_count", labels: {}, value: count },
      );
      return { name, help, type: "histogram", samples };
    },
  };
}

/** Gauges are read at scrape time, so they are built then rather than kept. */
export function gauge(name: string, help: string, samples: Sample[] | number): Family {
  return {
    name,
    help,
    type: "gauge",
    samples: typeof samples === "number" ? [{ labels: {}, value: samples }] : samples,
  };
}
