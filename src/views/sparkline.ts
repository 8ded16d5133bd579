/**
 * The inline SVG of an account's balance over its history, with its warning and critical
 * thresholds as horizontal lines. Every coordinate is a number this module computed; the only
 * text is the `<title>`, escaped. Kept small (about 190 bytes for a steady balance, title
 * included; integer coordinates, relative commands, points within a pixel of the line dropped,
 * the latest balance's dot a marker defined once per page): 500 rows of it go into one page.
 */
import type { Thresholds } from '../config/types.js';
import type { AccountState } from '../state/account-store.js';
import type { HistorySeries } from '../state/history.js';
import { escapeHtml } from './escape.js';
import { formatDurationSeconds, formatNumber } from './format.js';

/**
 * Drawing size: the size in CSS pixels it is shown at (style.ts), so an integer coordinate is a
 * CSS pixel, the finest step a 132-pixel chart can show, in the fewest digits.
 */
export const WIDTH = 132;
export const HEIGHT = 34;
const PAD = 2;
/** Points kept at most, and how far (in SVG units) a dropped point may be from the line drawn. */
const MAX_POINTS = 48;
/** One CSS pixel: a point that close to the line drawn changes nothing visible. */
const TOLERANCE = 1;
/**
 * Points drawn at most. A balance that jumps at every poll (heavy use with automatic top-ups)
 * would otherwise draw every sample it keeps (25 of 96 buckets): 500 such rows made the first page of
 * 10,000 accounts 340 KB, over its 300 KB budget (BENCHMARKS.md, page size). Such a line is drawn with a coarser
 * tolerance until it fits; a drain, a top-up or a steady balance needs far fewer points.
 */
const MAX_DRAWN = 8;

export interface Point {
  x: number;
  y: number;
}

/** Ramer–Douglas–Peucker on at most MAX_POINTS points: a steady drain is drawn as one segment. */
function simplify(points: readonly Point[], from: number, to: number, keep: boolean[], tolerance: number): void {
  const a = points[from] as Point;
  const b = points[to] as Point;
  let worst = -1;
  let worstDistance = tolerance;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy) || 1;
  for (let k = from + 1; k < to; k++) {
    const p = points[k] as Point;
    const distance = Math.abs(dy * (p.x - a.x) - dx * (p.y - a.y)) / length;
    if (distance > worstDistance) {
      worst = k;
      worstDistance = distance;
    }
  }
  if (worst < 0) return;
  keep[worst] = true;
  simplify(points, from, worst, keep, tolerance);
  simplify(points, worst, to, keep, tolerance);
}

/** Balance over time as (ms, credits), from the start of the history to its latest poll. */
function samples(series: HistorySeries): Array<[number, number]> {
  const out: Array<[number, number]> = [[series.sinceMs, series.startBalance]];
  for (const bucket of series.buckets) out.push([bucket.endMs, bucket.balance]);
  // Too many buckets for the width: every other one (the newest is always kept).
  while (out.length > MAX_POINTS) {
    const last = out.at(-1) as [number, number];
    const thinned = out.filter((_, k) => k % 2 === 0);
    if (thinned.at(-1) !== last) thinned.push(last);
    out.splice(0, out.length, ...thinned);
  }
  return out;
}

/** The points of `xy` to draw: within TOLERANCE of the line, and at most MAX_DRAWN of them. */
function drawn(xy: readonly Point[]): Point[] {
  for (let tolerance = TOLERANCE; ; tolerance++) {
    const keep = xy.map((_, k) => k === 0 || k === xy.length - 1);
    simplify(xy, 0, xy.length - 1, keep, tolerance);
    const kept = xy.filter((_, k) => keep[k]);
    // The height is HEIGHT units: at that tolerance only the two ends are left, so this ends.
    if (kept.length <= MAX_DRAWN) return kept;
  }
}

/**
 * Relative commands after the first point: `l5-3` is shorter than `L125 33`, and a level or
 * vertical step is `h`/`v` with one number. The latest point's dot is the path's end marker
 * (defined once per page, {@link SPARKLINE_DEFS}), not a circle per row.
 */
export function pathData(points: readonly Point[]): string {
  return points
    .map((p, k) => {
      if (k === 0) return `M${p.x} ${p.y}`;
      const before = points[k - 1] as Point;
      const dx = p.x - before.x;
      const dy = p.y - before.y;
      if (dy === 0) return `h${dx}`;
      if (dx === 0) return `v${dy}`;
      return `l${dx}${dy < 0 ? dy : ` ${dy}`}`;
    })
    .join('');
}

/**
 * The marker every sparkline's balance line ends with (a dot on the latest balance), once per
 * page: `marker-end: url(#end)` in the stylesheet refers to it. Hidden from assistive technology.
 */
export const SPARKLINE_DEFS =
  '<svg class="defs" aria-hidden="true"><marker id="end" viewBox="-1 -1 2 2" markerWidth="2" markerHeight="2"><circle r="1"/></marker></svg>';

/** Why an account has no balance to draw, by its state: shown instead of an empty chart. */
const NO_HISTORY: Partial<Record<AccountState, string>> = {
  UNAUTHORIZED: 'no data — key rejected (401)',
  FORBIDDEN: 'no data — plan forbids reading credits (403)',
  ERROR: 'no data — every poll failed so far',
  PENDING: 'no data yet — first poll running',
};

/**
 * The History cell of an account that never had a balance (its key was rejected from the first
 * poll, say): a line of text saying why, in the sparkline's place, rather than a chart frame with
 * nothing in it. An account that had a balance before its key was rejected keeps its sparkline.
 */
export function noHistory(state: AccountState): string {
  return `<span class="nodata">${escapeHtml(NO_HISTORY[state] ?? 'no data yet')}</span>`;
}

export function sparkline(series: HistorySeries, thresholds: Thresholds, currency: string | undefined): string {
  const points = samples(series);
  let lo = Math.min(thresholds.critical, thresholds.warning);
  let hi = Math.max(thresholds.critical, thresholds.warning);
  for (const [, balance] of points) {
    lo = Math.min(lo, balance);
    hi = Math.max(hi, balance);
  }
  const margin = (hi - lo) * 0.08 || Math.max(1, Math.abs(hi) * 0.1);
  lo -= margin;
  hi += margin;
  const first = points[0] as [number, number];
  const last = points.at(-1) as [number, number];
  const t0 = first[0];
  const t1 = Math.max(last[0], t0 + 1);
  const x = (t: number): number => Math.round(((t - t0) / (t1 - t0)) * WIDTH);
  const y = (v: number): number => Math.round(PAD + ((hi - v) / (hi - lo)) * (HEIGHT - 2 * PAD));
  const lines = `<path class="tw" d="M0 ${y(thresholds.warning)}H${WIDTH}"/><path class="tc" d="M0 ${y(thresholds.critical)}H${WIDTH}"/>`;
  let xy: Point[] = points.map(([t, v]) => ({ x: x(t), y: y(v) }));
  // Polls at one instant only (a single poll): a level line across the whole width.
  const end = xy.at(-1) as Point;
  if (end.x === 0)
    xy = [
      { x: 0, y: end.y },
      { x: WIDTH, y: end.y },
    ];
  const line = `<path class="bl" d="${pathData(drawn(xy))}"/>`;
  const unit = currency === undefined ? '' : ` ${currency}`;
  const title = `${formatNumber(Math.round(first[1]))} → ${formatNumber(Math.round(last[1]))}${unit}, ${formatDurationSeconds((last[0] - first[0]) / 1000)}`;
  // No viewBox: style.ts shows it at WIDTH × HEIGHT CSS pixels, so its units are already those
  // pixels, and 500 rows save 11 KB.
  return `<svg role="img"><title>${escapeHtml(title)}; warning ${formatNumber(thresholds.warning)}, critical ${formatNumber(thresholds.critical)}</title>${lines}${line}</svg>`;
}
