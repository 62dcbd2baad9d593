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

/** Targets of one side (one per process), each with its measured rounds. */
type Side = ReadonlyArray<{ rounds: ReadonlyArray<{ requestsPerSec: number }> }>;

/**
 * Requests per second of each round summed over several targets (one per process of a side), for
 * the rounds every target has: several processes of a configuration weighed as one.
 */
export function requestsPerRoundSummed(targets: Side): number[] {
  if (targets.length === 0) return [];
  const rounds = Math.min(...targets.map((t) => t.rounds.length));
  return Array.from({ length: rounds }, (_, i) => targets.reduce((sum, t) => sum + (t.rounds[i]?.requestsPerSec ?? Number.NaN), 0));
}

/**
 * Per round, the mean req/s of the `subject` targets ÷ the mean of the `reference` ones (each a side
 * of processes of one configuration, sides of any sizes).
 */
export function ratioOfMeansPerRound(subject: Side, reference: Side): number[] {
  const on = requestsPerRoundSummed(subject);
  const off = requestsPerRoundSummed(reference);
  return on.map((v, i) => v / subject.length / ((off[i] ?? Number.NaN) / reference.length));
}

/** The median over rounds of {@link ratioOfMeansPerRound}. */
export function medianRatioOfMeans(subject: Side, reference: Side): number {
  return median(ratioOfMeansPerRound(subject, reference));
}

/**
 * One side's processes split in two halves for an A/A comparison, from a list in the order the
 * processes were started and measured: in each block of four, the first and the last go to the
 * first half, the middle two to the second (ABBA), so that neither half holds the earlier places.
 * With an odd count, the second half is the larger one; with fewer than two, the first is empty.
 */
export function abbaHalves<T>(items: readonly T[]): [T[], T[]] {
  if (items.length < 2) return [[], [...items]];
  const first: T[] = [];
  const second: T[] = [];
  items.forEach((item, i) => (i % 4 === 0 || i % 4 === 3 ? first : second).push(item));
  return [first, second];
}

/** Arithmetic mean; NaN for none. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n − 1): the spread of one observation; NaN below two values. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
}

/** Standard error of the mean (sd ÷ √n): how far the mean of these values may be from the true one; NaN below two values. */
export function standardError(values: readonly number[]): number {
  return standardDeviation(values) / Math.sqrt(values.length);
}
