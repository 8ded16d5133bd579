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
