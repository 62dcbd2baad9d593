/** Median, the summary that one disturbed round cannot drag far. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of raw samples, e.g. the latencies of one burst. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/**
 * Requests per second of each round summed over several targets (one per process of a side), for
 * the rounds every target has: several processes of a configuration weighed as one.
 */
export function requestsPerRoundSummed(targets: ReadonlyArray<{ rounds: ReadonlyArray<{ requestsPerSec: number }> }>): number[] {
  if (targets.length === 0) return [];
  const rounds = Math.min(...targets.map((t) => t.rounds.length));
  return Array.from({ length: rounds }, (_, i) => targets.reduce((sum, t) => sum + (t.rounds[i]?.requestsPerSec ?? Number.NaN), 0));
}

/**
 * Per round, the mean req/s of the `subject` targets ÷ the mean of the `reference` ones (each a side
 * of processes of one configuration, sides of any sizes), then the median over rounds.
 */
export function medianRatioOfMeans(
  subject: ReadonlyArray<{ rounds: ReadonlyArray<{ requestsPerSec: number }> }>,
  reference: ReadonlyArray<{ rounds: ReadonlyArray<{ requestsPerSec: number }> }>,
): number {
  const on = requestsPerRoundSummed(subject);
  const off = requestsPerRoundSummed(reference);
  return median(on.map((v, i) => v / subject.length / ((off[i] ?? Number.NaN) / reference.length)));
}
