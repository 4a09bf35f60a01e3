// Order statistics for timing samples. Nearest-rank percentiles: with a
// handful of samples (the smoke run has three) interpolation would invent
// values no operation ever took.

export interface Summary { median_ms: number; p95_ms: number }

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounded to microseconds so the JSON stays readable. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function summarize(samples: readonly number[]): Summary {
  return { median_ms: round3(median(samples)), p95_ms: round3(Math.max(percentile(samples, 95), median(samples))) };
}
