// Small measuring kit shared by the benchmarks: medians over repeated samples, and a table.
import { performance } from 'node:perf_hooks';

/** Runs fn repeatedly for ~sampleMs per sample; returns the median ops/second over `samples`. */
export function opsPerSecond(fn, { samples = 7, sampleMs = 200, warmupMs = 100 } = {}) {
  const sample = (ms) => {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      fn();
      n++;
      now = performance.now();
    }
    return (n * 1000) / (now - start);
  };
  sample(warmupMs);
  const rates = [];
  for (let i = 0; i < samples; i++) rates.push(sample(sampleMs));
  return median(rates);
}

/** Median wall time in ms of `samples` calls of fn (for long single operations). */
export function medianMs(fn, { samples = 5 } = {}) {
  const times = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

export async function medianMsAsync(fn, { samples = 5 } = {}) {
  const times = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Formats rows (arrays of cells) as a Markdown table, ready to paste into BENCHMARKS.md. */
export function table(header, rows) {
  const fmt = (c) => (typeof c === 'number' ? formatNumber(c) : String(c));
  const all = [header, ...rows.map((r) => r.map(fmt))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(all[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}

export function formatNumber(x) {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}
