// `vagt report --month YYYY-MM`: the monthly SLA report from the collector's database, as a table,
// CSV or JSON. It opens the same SQLite file the collector writes (WAL lets both work at once).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DateTime } from 'luxon';
import { formatDuration } from '../lib/duration.js';
import { errorMessage } from '../lib/errors.js';
import type { View } from '../collector/status/types.js';
import { SqliteStore } from '../collector/store/sqlite.js';
import { monthBounds, monthReport, type MonthReport } from '../collector/uptime/report.js';
import type { WindowUptime } from '../collector/uptime/uptime.js';
import { loadConfigOrExit } from './config.js';
import { EXIT, fail } from './output.js';

export type ReportFormat = 'table' | 'csv' | 'json';

export async function runReportCommand(opts: {
  config: string;
  month: string;
  format: ReportFormat;
  view: View;
  dataDir: string | undefined;
}): Promise<number> {
  const config = loadConfigOrExit(opts.config);
  const timezone = config.collector.timezone;
  if (monthBounds(opts.month, timezone) === undefined) fail(`--month: expected a month like 2026-11, got "${opts.month}"`);
  const dir = resolve(opts.dataDir ?? config.collector.data_dir);
  const path = join(dir, 'vagt.db');
  if (!existsSync(path)) fail(`no database at ${path}; point --data-dir (or collector.data_dir) at the collector's data directory`);
  let store: SqliteStore;
  try {
    store = SqliteStore.open(path);
  } catch (err) {
    fail(errorMessage(err));
  }
  try {
    const report = await monthReport(store, config.systems, { month: opts.month, timezone, view: opts.view, now: Date.now() });
    process.stdout.write(opts.format === 'json' ? JSON.stringify(reportJson(report), null, 2) + '\n' : opts.format === 'csv' ? reportCsv(report) : reportTable(report));
  } finally {
    await store.close();
  }
  return EXIT.ok;
}

const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function reportJson(r: MonthReport): unknown {
  return {
    month: r.month,
    timezone: r.timezone,
    view: r.view,
    from: isoTime(r.from),
    to: isoTime(r.to),
    generated_at: isoTime(r.generated_at),
    systems: r.systems.map((s) => ({
      id: s.id,
      name: s.name,
      windows: s.windows,
      incidents: s.incidents.map((i) => ({ ...i, started_at: isoTime(i.started_at), resolved_at: isoTime(i.resolved_at) })),
    })),
  };
}

const CSV_COLUMNS = [
  'system',
  'name',
  'window',
  'uptime',
  'target',
  'met',
  'window_s',
  'up_s',
  'degraded_s',
  'downtime_s',
  'partial_outage_s',
  'maintenance_s',
  'unknown_s',
  'top_incidents',
] as const;

/** RFC 4180: quoted when it holds a comma, quote or line break. */
const csvField = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function reportCsv(r: MonthReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const s of r.systems) {
    const top = s.incidents.map((i) => `#${i.id} ${Math.round(i.downtime_s)}s`).join('; ');
    for (const [window, u] of Object.entries(s.windows)) {
      const row = [
        s.id,
        s.name,
        window,
        u.uptime === null ? '' : u.uptime.toFixed(4),
        u.target === null ? '' : String(u.target),
        u.met === null ? '' : String(u.met),
        ...[u.window_s, u.up_s, u.degraded_s, u.downtime_s, u.partial_outage_s, u.maintenance_s, u.unknown_s].map((n) => String(Math.round(n))),
        top,
      ];
      lines.push(row.map(csvField).join(','));
    }
  }
  return lines.join('\r\n') + '\r\n';
}

const pct = (v: number | null): string => (v === null ? '-' : `${v.toFixed(3)} %`);
const dur = (s: number): string => (Math.round(s) === 0 ? '0' : formatDuration(Math.round(s) * 1000));
const met = (u: WindowUptime): string => (u.met === null ? '-' : u.met ? 'yes' : 'NO');

export function reportTable(r: MonthReport): string {
  const local = (ms: number): string => DateTime.fromMillis(ms, { zone: r.timezone }).toFormat('yyyy-MM-dd HH:mm');
  const running = r.generated_at < r.to;
  const head = [
    `Uptime ${r.month} (${r.timezone}, ${r.view} view)${running ? `, up to ${local(r.generated_at)}` : ''}`,
    'uptime = time up / (window time - maintenance - unknown); downtime is partial or major outage',
    '',
  ];
  const header = ['system', 'window', 'uptime', 'target', 'met', 'downtime', 'maintenance', 'unknown'];
  const rows: string[][] = [];
  for (const s of r.systems) {
    let first = true;
    for (const [window, u] of Object.entries(s.windows)) {
      rows.push([first ? s.name : '', window, pct(u.uptime), u.target === null ? '-' : `${u.target} %`, met(u), dur(u.downtime_s), dur(u.maintenance_s), dur(u.unknown_s)]);
      first = false;
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [...head, line(header), ...rows.map(line)];
  const costly = r.systems.filter((s) => s.incidents.length > 0);
  if (costly.length > 0) {
    out.push('', 'Incidents that cost most downtime:');
    for (const s of costly)
      for (const i of s.incidents) {
        const cause = i.system === s.id ? '' : `, caused by ${i.system}`;
        const until = i.resolved_at === null ? 'still open' : `until ${local(i.resolved_at)}`;
        out.push(`  ${s.name}: incident #${i.id} (P${i.priority}${cause}) from ${local(i.started_at)} ${until}: ${dur(i.downtime_s)} down`);
      }
  }
  return out.join('\n') + '\n';
}
