/**
 * The monitoring benchmark counts a 30-second group's evaluation only once every slower group has
 * run: before that the alerts read no thresholds or hourly rates, have no active alerts, and their
 * annotations (a query per active alert) cost nothing, so the figure would leave out part of
 * zexa-credits' cost.
 */
import { describe, expect, it } from 'vitest';
import { creditsAndRecordingPer30s, slowerGroupsRan } from '../../bench/rule-evaluations.js';

const NEVER = '0001-01-01T00:00:00Z';
const fast = { interval: 30, lastEvaluation: '2026-12-07T10:21:23.1Z' };

describe('slowerGroupsRan', () => {
  it('is false while a 5-minute group has not evaluated yet', () => {
    expect(slowerGroupsRan([fast, { interval: 300, lastEvaluation: NEVER }], '2026-12-07T10:21:23.1Z')).toBe(false);
  });

  it('is false for an evaluation that started before the 5-minute group first ran', () => {
    const slow = { interval: 300, lastEvaluation: '2026-12-07T10:21:51.369878412Z' };
    expect(slowerGroupsRan([fast, slow], '2026-12-07T10:21:23.123456789Z')).toBe(false);
  });

  it('is true once every slower group ran before the evaluation', () => {
    const groups = [
      fast,
      { interval: 300, lastEvaluation: '2026-12-07T10:21:51.369878412Z' },
      { interval: 120, lastEvaluation: '2026-12-07T10:20:00Z' },
    ];
    expect(slowerGroupsRan(groups, '2026-12-07T10:21:53.52Z')).toBe(true);
    expect(slowerGroupsRan(groups.slice(0, 2), '2026-12-07T10:21:51.369Z')).toBe(false);
  });

  it('counts every evaluation of a rule file with 30-second groups only', () => {
    expect(slowerGroupsRan([fast, { interval: 60, lastEvaluation: NEVER }], '2026-12-07T10:21:23.1Z')).toBe(true);
  });
});

describe('creditsAndRecordingPer30s', () => {
  it('adds zexa-credits and the recording groups, a 5-minute group weighed by a tenth', () => {
    const groups = [
      { name: 'zexa-api-key', intervalS: 30, medianS: 0.29 },
      { name: 'zexa-credits', intervalS: 30, medianS: 0.157 },
      { name: 'zexa-exporter', intervalS: 30, medianS: 0.048 },
      { name: 'zexa-recording', intervalS: 30, medianS: 0.418 },
      { name: 'zexa-recording-5m', intervalS: 300, medianS: 1.565 },
    ];
    expect(creditsAndRecordingPer30s(groups)).toBeCloseTo(0.157 + 0.418 + 0.1565, 9);
  });

  it('is 0 for a rule file without those groups', () => {
    expect(creditsAndRecordingPer30s([{ name: 'other', intervalS: 30, medianS: 1 }])).toBe(0);
  });
});
