/** Which rule group evaluations the monitoring benchmark counts (bench/monitoring.ts). */

/** A rule group as /api/v1/rules describes it: `interval` in seconds, `lastEvaluation` RFC 3339. */
export interface GroupState {
  interval: number;
  lastEvaluation: string;
}

/** Prometheus' zero time: the group has not evaluated yet. */
const NEVER = '0001-';

/**
 * Whether an evaluation of a group at `at` (RFC 3339) shows what the rules cost in operation: every
 * group slower than 60 s (the 5-minute recording group) had evaluated before it. Until then the
 * alerts that read the slow groups' series (the thresholds, the hour's rate) find none, so they have
 * no active alerts and their annotations, a query per active alert, cost nothing.
 */
export function slowerGroupsRan(groups: readonly GroupState[], at: string): boolean {
  return groups
    .filter((g) => g.interval > 60)
    .every((g) => !g.lastEvaluation.startsWith(NEVER) && Date.parse(g.lastEvaluation) < Date.parse(at));
}

/** A group's median evaluation time, as the benchmark reports it. */
export interface GroupMedian {
  name: string;
  /** Seconds between evaluations. */
  intervalS: number;
  /** Median evaluation time, in seconds. */
  medianS: number;
}

/**
 * A group's cost in seconds per 30 s: a group slower than 30 s weighed by how often it runs (a
 * 5-minute group's evaluation over ten).
 */
export function per30s(group: GroupMedian): number {
  return (group.medianS * 30) / group.intervalS;
}

/** The groups' summed cost per 30 s. */
export function totalPer30s(groups: readonly GroupMedian[]): number {
  return groups.reduce((sum, g) => sum + per30s(g), 0);
}

/**
 * What issue 18's target counts: zexa-credits and the recording groups (`zexa-recording…`), in
 * seconds per 30 s. The other groups (zexa-api-key, zexa-exporter) are not in it.
 */
export function creditsAndRecordingPer30s(groups: readonly GroupMedian[]): number {
  return totalPer30s(groups.filter((g) => g.name === 'zexa-credits' || g.name.startsWith('zexa-recording')));
}
