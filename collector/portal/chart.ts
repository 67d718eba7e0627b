// A response-time chart as plain SVG: median and 95th percentile per bucket across vantage
// points, time on the x axis in the collector's timezone. No library: two polylines and axes.
import { escapeHtml, type Formats } from './layout.js';

export interface ChartPoint {
  /** Bucket start, epoch ms. */
  at: number;
  p50: number;
  p95: number;
}

const W = 720;
const H = 220;
const LEFT = 56;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 28;

/** 1, 2, 5 × 10^n at or above v. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

export function responseChart(opts: {
  points: readonly ChartPoint[];
  from: number;
  to: number;
  label: string;
  fmt: Formats;
  names: { p50: string; p95: string; limit: string };
  /** A long-response-time limit to draw, ms. */
  limit?: number | undefined;
}): string {
  const { points, from, to, fmt } = opts;
  const ms = (v: number): string => fmt.ms(v);
  const max = niceCeil(Math.max(1, opts.limit ?? 0, ...points.map((p) => p.p95)) * 1.05);
  const x = (t: number): number => LEFT + ((t - from) / (to - from)) * (W - LEFT - RIGHT);
  const y = (v: number): number => TOP + (1 - v / max) * (H - TOP - BOTTOM);
  // A gap of more than two buckets breaks the line rather than bridging missing data.
  const lines = (key: 'p50' | 'p95'): string[] => {
    const out: string[] = [];
    let cur: string[] = [];
    let prev: number | undefined;
    const step = points.length > 1 ? Math.min(...points.slice(1).map((p, i) => p.at - (points[i]?.at ?? 0))) : 0;
    for (const p of points) {
      if (prev !== undefined && step > 0 && p.at - prev > 2 * step) {
        out.push(cur.join(' '));
        cur = [];
      }
      cur.push(`${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`);
      prev = p.at;
    }
    if (cur.length > 0) out.push(cur.join(' '));
    return out;
  };
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = max * f;
    return `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#d0d7de"/><text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${ms(v)}</text>`;
  });
  const ticks: string[] = [];
  const sixHours = 6 * 3_600_000;
  for (let t = Math.ceil(from / sixHours) * sixHours; t <= to; t += sixHours)
    ticks.push(`<text x="${x(t).toFixed(1)}" y="${H - 8}" text-anchor="middle">${escapeHtml(fmt.time(t))}</text>`);
  const poly = (key: 'p50' | 'p95', attrs: string): string => lines(key).map((pts) => `<polyline points="${pts}" fill="none" ${attrs}/>`).join('');
  // Dots as well, so that a lone bucket (a new system, a gap) still shows.
  const dots = (key: 'p50' | 'p95', colour: string): string =>
    points.map((p) => `<circle cx="${x(p.at).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="2" fill="${colour}"/>`).join('');
  const limit =
    opts.limit === undefined
      ? ''
      : `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(opts.limit).toFixed(1)}" y2="${y(opts.limit).toFixed(1)}" stroke="#8a5a00" stroke-width="1" stroke-dasharray="1 4"/><text x="${W - RIGHT}" y="${(y(opts.limit) - 4).toFixed(1)}" text-anchor="end" fill="#8a5a00">${escapeHtml(opts.names.limit)} ${ms(opts.limit)}</text>`;
  const last = points[points.length - 1];
  const desc = last === undefined ? '' : `${opts.names.p50} ${ms(last.p50)}, ${opts.names.p95} ${ms(last.p95)}`;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(`${opts.label}. ${desc}`)}" font-size="11" fill="#59636e">
${grid.join('')}${ticks.join('')}${limit}${poly('p95', 'stroke="#bc4c00" stroke-width="1.5" stroke-dasharray="5 3"')}${dots('p95', '#bc4c00')}${poly('p50', 'stroke="#0550ae" stroke-width="2"')}${dots('p50', '#0550ae')}
<g transform="translate(${LEFT + 8},${TOP + 10})"><line x1="0" x2="18" y1="0" y2="0" stroke="#0550ae" stroke-width="2"/><text x="22" y="4">${escapeHtml(opts.names.p50)}</text><line x1="110" x2="128" y1="0" y2="0" stroke="#bc4c00" stroke-width="1.5" stroke-dasharray="5 3"/><text x="132" y="4">${escapeHtml(opts.names.p95)}</text></g>
</svg>`;
}
