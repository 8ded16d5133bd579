/**
 * The inline SVG of an account's balance over its history, with its warning and critical
 * thresholds as horizontal lines. Every coordinate is a number this module computed; the only
 * text is the `<title>`, escaped. Kept small (about 150 bytes for a steady balance, 600 at
 * most): 500 rows of it go into one page.
 */
import type { Thresholds } from '../config/types.js';
import type { HistorySeries } from '../history.js';
import { escapeHtml } from './escape.js';
import { formatDuration, formatNumber } from './format.js';

/** Drawing size in SVG units (shown at half: half-pixel precision with integer coordinates). */
const WIDTH = 240;
const HEIGHT = 56;
const PAD = 4;
/** Points kept at most, and how far (in SVG units) a dropped point may be from the line drawn. */
const MAX_POINTS = 48;
const TOLERANCE = 1.5;

interface Point {
  x: number;
  y: number;
}

/** Ramer–Douglas–Peucker on at most MAX_POINTS points: a steady drain is drawn as one segment. */
function simplify(points: readonly Point[], from: number, to: number, keep: boolean[]): void {
  const a = points[from] as Point;
  const b = points[to] as Point;
  let worst = -1;
  let worstDistance = TOLERANCE;
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
  simplify(points, from, worst, keep);
  simplify(points, worst, to, keep);
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

export function sparkline(series: HistorySeries | undefined, thresholds: Thresholds, currency: string | undefined): string {
  const points = series === undefined ? [] : samples(series);
  let lo = Math.min(thresholds.critical, thresholds.warning);
  let hi = Math.max(thresholds.critical, thresholds.warning);
  for (const [, balance] of points) {
    lo = Math.min(lo, balance);
    hi = Math.max(hi, balance);
  }
  const margin = (hi - lo) * 0.08 || Math.max(1, Math.abs(hi) * 0.1);
  lo -= margin;
  hi += margin;
  const t0 = points[0]?.[0] ?? 0;
  const t1 = Math.max(points.at(-1)?.[0] ?? 0, t0 + 1);
  const x = (t: number): number => Math.round(((t - t0) / (t1 - t0)) * WIDTH);
  const y = (v: number): number => Math.round(PAD + ((hi - v) / (hi - lo)) * (HEIGHT - 2 * PAD));
  const warningY = y(thresholds.warning);
  const criticalY = y(thresholds.critical);
  const lines = `<path class="tw" d="M0 ${warningY}H${WIDTH}"/><path class="tc" d="M0 ${criticalY}H${WIDTH}"/>`;
  const unit = currency === undefined ? '' : ` ${currency}`;
  let title: string;
  let body: string;
  if (points.length === 0 || series === undefined) {
    title = 'no balance yet';
    body = `<text x="${WIDTH / 2}" y="${HEIGHT / 2 + 6}">no data</text>`;
  } else {
    let xy: Point[] = points.map(([t, v]) => ({ x: x(t), y: y(v) }));
    // Polls at one instant only (a single poll): a level line across the whole width.
    if ((xy.at(-1) as Point).x === 0) xy = [{ x: 0, y: (xy.at(-1) as Point).y }, { x: WIDTH, y: (xy.at(-1) as Point).y }];
    const keep = xy.map((_, k) => k === 0 || k === xy.length - 1);
    simplify(xy, 0, xy.length - 1, keep);
    const kept = xy.filter((_, k) => keep[k]);
    // Relative moves after the first point: `l5-3` is shorter than `L125 33`.
    const d = kept.map((p, k) => {
      if (k === 0) return `M${p.x} ${p.y}`;
      const before = kept[k - 1] as Point;
      const dy = p.y - before.y;
      return `l${p.x - before.x}${dy < 0 ? dy : ` ${dy}`}`;
    }).join('');
    const end = kept.at(-1) as Point;
    body = `<path class="bl" d="${d}"/><circle cx="${end.x}" cy="${end.y}"/>`;
    const first = points[0] as [number, number];
    const last = points.at(-1) as [number, number];
    title = `${formatNumber(Math.round(first[1]))} → ${formatNumber(Math.round(last[1]))}${unit}, ${formatDuration((last[0] - first[0]) / 1000)}`;
  }
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img"><title>${escapeHtml(title)}; warning ${formatNumber(thresholds.warning)}, critical ${formatNumber(thresholds.critical)}</title>${lines}${body}</svg>`;
}
