/**
 * The page's one stylesheet (inline: the CSP allows inline styles and nothing else). Light and
 * dark through `prefers-color-scheme`; every text colour meets WCAG AA (4.5:1) on its background,
 * checked in test/unit/views/style.test.ts, and no state is told by colour alone (the badge
 * says it in words; the threshold lines differ by dash pattern too).
 */
import { columnStyles } from './columns.js';
import { HEIGHT, WIDTH } from './sparkline.js';

export const COLOURS = {
  light: {
    bg: '#f6f7f9',
    panel: '#ffffff',
    text: '#1d2330',
    dim: '#5b6472',
    line: '#e3e6eb',
    head: '#eef0f4',
    link: '#0b57d0',
    spark: '#1f5fbf',
    warn: '#9a5b00',
    crit: '#b71c1c',
  },
  dark: {
    bg: '#111418',
    panel: '#1a1e24',
    text: '#e6e9ee',
    dim: '#a3acb9',
    line: '#2c323b',
    head: '#222831',
    link: '#8ab4f8',
    spark: '#7fb0ff',
    warn: '#f0b04a',
    crit: '#ff8a80',
  },
} as const;

/** Badge backgrounds; the badge text is white in both schemes. */
export const BADGES: Record<string, string> = {
  ok: '#1b6e20',
  draining: '#0d5f73',
  low: '#8a5100',
  critical: '#b71c1c',
  unauthorized: '#6a1b9a',
  forbidden: '#ad1457',
  error: '#5d4037',
  pending: '#50626c',
};

/**
 * Below 700 px each account is a card: name and state, then balance, "runs out", last success
 * and the sparkline, the error cut to two lines with its request_id whole, then the rest; no
 * horizontal scrolling. CSS only (the page has no script), by column position as columnStyles
 * does, so the rows carry nothing extra. The labels come from CSS for the same reason.
 */
const PHONE_ORDER: readonly [column: number, label: string][] = [
  [3, 'Balance'],
  [6, ''],
  [7, 'Last success'],
  [4, ''],
  [5, 'Burn'],
  [10, ''],
  [8, 'Key'],
  [9, 'Key age'],
];

/**
 * Between the phone cards and a wide desktop the table is as wide as its narrowest possible
 * columns; a whole request_id (36 characters and more) would push it past a 1280 px window. There
 * it may wrap inside its own box, and a click still selects all of it (user-select:all).
 */
const NARROW_DESKTOP = `@media (min-width:700px) and (max-width:1365.98px){.rid code{white-space:normal;overflow-wrap:anywhere}}`;

const PHONE = `@media (max-width:699.98px){
header,main{padding-left:12px;padding-right:12px}footer{padding-left:12px;padding-right:12px}
form.search input{min-width:0;flex:1 1 12em}.legend{margin-left:0}
nav.pages{flex-wrap:wrap}
table,tbody,tr,th,td{display:block}
table{background:none;box-shadow:none}
caption{display:block}
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
tbody tr{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:4px 12px;align-items:center;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin:0 0 10px}
tbody tr>*{grid-column:1/-1;padding:0;border:0;min-width:0;max-width:none;white-space:normal}
tbody tr>:nth-child(1){grid-column:1;font-size:16px;overflow-wrap:anywhere;box-shadow:none}
tbody tr>:nth-child(2){grid-column:2;justify-self:end}
${PHONE_ORDER.map(([column, label], i) => `tbody tr>:nth-child(${column}){order:${i + 1}}${label === '' ? '' : `tbody tr>:nth-child(${column})::before{content:"${label} ";color:var(--dim);font-size:12px}`}`).join('\n')}
tbody tr>:nth-child(3) small{display:inline}
tbody tr>:nth-child(10){font-size:13px}
tbody tr .em{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;line-clamp:2;overflow:hidden;overflow-wrap:anywhere}
.rid code{display:inline-block;max-width:100%;overflow-x:auto;vertical-align:bottom}
tr.s-unauthorized,tr.s-critical,tr.s-forbidden,tr.s-error{border-left:4px solid var(--crit)}
tr.s-low{border-left:4px solid var(--warn)}
}`;

function variables(scheme: (typeof COLOURS)['light'] | (typeof COLOURS)['dark']): string {
  return Object.entries(scheme)
    .map(([name, value]) => `--${name}:${value}`)
    .join(';');
}

export const STYLE = `
:root{${variables(COLOURS.light)};color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{${variables(COLOURS.dark)}}}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:var(--text);background:var(--bg)}
a{color:var(--link)}
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:18px}
header p{margin:4px 0 0;color:#c5cbd6}header a{color:#a8c8ff}
main{padding:16px 24px}
nav.states{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 12px}
nav.states a{display:inline-flex;align-items:center;gap:6px;padding:4px 10px 4px 4px;border:1px solid var(--line);border-radius:16px;background:var(--panel);text-decoration:none;color:var(--text)}
nav.states a.all{padding-left:10px}
nav.states a[aria-current]{outline:2px solid var(--link);font-weight:700}
form.search{display:flex;gap:8px;align-items:center;margin:0 0 12px;flex-wrap:wrap}
form.search input{font:inherit;padding:5px 8px;border:1px solid var(--dim);border-radius:4px;background:var(--panel);color:var(--text);min-width:260px}
form.search button{font:inherit;padding:5px 12px;border:1px solid var(--link);border-radius:4px;background:var(--link);color:var(--panel);cursor:pointer}
.legend{color:var(--dim);font-size:12px;margin-left:auto}
.legend svg{display:inline-block;vertical-align:middle;width:36px;height:10px;margin:0 4px 0 10px}
table{border-collapse:collapse;width:100%;background:var(--panel);box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:7px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
thead th{background:var(--head);font-weight:600;position:sticky;top:0}
${columnStyles()}
td strong{white-space:nowrap}
caption{text-align:left;padding:0 0 6px;color:var(--dim)}
small{font-size:11px}.dim{color:var(--dim)}.alert{color:var(--warn);font-weight:700}
.rid code{background:var(--head);padding:0 2px;border-radius:3px;white-space:nowrap;overflow-wrap:normal;user-select:all}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:700;color:#fff;letter-spacing:.02em}
${Object.entries(BADGES)
  .map(([state, colour]) => `.b-${state}{background:${colour}}`)
  .join('')}
tr.s-unauthorized th,tr.s-critical th,tr.s-forbidden th,tr.s-error th{box-shadow:inset 4px 0 var(--crit)}
tr.s-low th{box-shadow:inset 4px 0 var(--warn)}
td svg{width:${WIDTH}px;height:${HEIGHT}px;display:block;overflow:visible}
svg path{fill:none}
svg .bl{stroke:var(--spark);stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round;marker-end:url(#end)}
svg.defs{position:absolute;width:0;height:0;overflow:hidden}svg marker circle{fill:var(--spark)}
svg .tw,svg .tc{stroke-width:1.4}
svg .tw{stroke:var(--warn);stroke-dasharray:7 3}
svg .tc{stroke:var(--crit);stroke-dasharray:1.6 2.8}
span.nodata{display:flex;align-items:center;width:${WIDTH}px;min-height:${HEIGHT}px;color:var(--dim);font-size:12px;line-height:1.2}
nav.pages{margin:12px 0;display:flex;gap:12px;align-items:center}
p.empty{padding:24px;text-align:center;background:var(--panel)}
footer{padding:8px 24px 24px;color:var(--dim);font-size:12px}
${NARROW_DESKTOP}
${PHONE}
`;
