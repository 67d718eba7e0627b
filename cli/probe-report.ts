// The text `vagt probe` prints: how a person reads a probe while writing it. Pure functions from a
// probe and its outcome to lines, so the format is tested without running anything.
import { PHASES, type ProbeOutcome, type ProbeSpec, type RequestDetail, type StepDetail } from '../protocol/messages.js';

export interface ReportStyle {
  colour: boolean;
  /** Columns of a waterfall bar. */
  width?: number;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', dim: '\x1b[2m', bold: '\x1b[1m', reset: '\x1b[0m' } as const;
type Tone = Exclude<keyof typeof ANSI, 'reset'>;

/** Colour on a terminal unless NO_COLOR; FORCE_COLOR forces it (https://no-color.org). */
export function wantColour(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export function formatOutcome(spec: ProbeSpec, o: ProbeOutcome, style: ReportStyle = { colour: false }): string {
  const paint = (tone: Tone, s: string): string => (style.colour ? `${ANSI[tone]}${s}${ANSI.reset}` : s);
  const width = style.width ?? 32;
  const mark = o.ok ? paint('green', 'PASS') : paint('red', paint('bold', 'FAIL'));
  const status = o.status_code === undefined ? '' : `  status ${o.status_code}`;
  const lines = [`${mark} ${spec.system}/${spec.id} (${spec.type})  ${ms(o.duration_ms)}${status}`];
  const d = o.detail ?? {};
  const steps = Array.isArray(d.steps) ? (d.steps as StepDetail[]) : undefined;
  const waterfall = Array.isArray(d.waterfall) ? (d.waterfall as RequestDetail[]) : undefined;

  if (spec.type !== 'flow') {
    const phases = PHASES.filter((p) => o.phases[p] !== undefined).map((p) => `${p} ${ms(o.phases[p] ?? 0)}`);
    if (phases.length > 0) lines.push(`     ${phases.join(' · ')}`);
  }
  if (steps !== undefined && spec.type === 'flow') {
    lines.push(...flowLines(spec, steps, o.duration_ms, width, paint));
  } else if (waterfall !== undefined) {
    lines.push(`     ${num(d.requests)} requests, ${bytes(d.bytes)}, loaded in ${ms(Number(d.load_ms ?? o.duration_ms))}` + (num(d.skipped) > 0 ? `, ${num(d.skipped)} skipped` : ''));
    lines.push(...waterfall.map((r) => '     ' + requestRow(r, o.duration_ms, width, paint)));
    if (num(d.waterfall_omitted) > 0) lines.push(paint('dim', `     … ${num(d.waterfall_omitted)} more requests`));
    for (const f of Array.isArray(d.failed) ? (d.failed as { url: string; status?: number; error?: string }[]) : [])
      lines.push(paint('red', `     failed: ${f.url}  ${f.error ?? (f.status === undefined ? '' : `status ${f.status}`)}`));
  }
  if (Array.isArray(d.answers)) lines.push(`     answers: ${(d.answers as unknown[]).map(String).join(', ') || 'none'}`);
  if (typeof d.protocol === 'string') {
    const left = typeof d.days_left === 'number' ? `, ${d.days_left} days left (until ${String(d.not_after)})` : '';
    lines.push(`     ${d.protocol}${typeof d.issuer === 'string' ? `, issued by ${d.issuer}` : ''}${left}`);
  } else if (o.tls_expiry !== undefined) {
    lines.push(`     certificate expires ${new Date(o.tls_expiry * 1000).toISOString()}`);
  }
  if (typeof d.warning === 'string') lines.push(paint('yellow', `     warning: ${d.warning}`));
  if (o.error !== undefined && steps === undefined) lines.push(paint('red', `     ${o.error.code}: ${o.error.message}`));
  return lines.join('\n');
}

type Paint = (tone: Tone, s: string) => string;

function flowLines(spec: ProbeSpec, steps: StepDetail[], total: number, width: number, paint: Paint): string[] {
  const names = spec.type === 'flow' ? spec.steps.map((s) => s.name) : [];
  const out: string[] = [];
  for (const s of steps) {
    const mark = s.ok ? paint('green', 'ok  ') : paint('red', 'FAIL');
    const status = s.status_code === undefined ? '' : `  status ${s.status_code}`;
    out.push(`  ${s.index + 1}. ${mark} ${s.name}  ${ms(s.duration_ms)}${status}`);
    for (const r of s.requests) out.push('       ' + requestRow(r, total, width, paint));
    if (s.error !== undefined) {
      out.push(paint('red', `       ${s.error.code}: ${s.error.message}`));
      if (s.error.expected !== undefined) out.push(`       expected: ${s.error.expected}`);
      if (s.error.got !== undefined) out.push(paint('red', `       got:      ${s.error.got}`));
    }
  }
  for (let i = steps.length; i < names.length; i++) out.push(paint('dim', `  ${i + 1}. --   ${names[i] ?? ''}  not run`));
  return out;
}

/** `|   ████     | 200 GET https://…  31.2 ms`: offset and length proportional within the probe. */
export function requestRow(r: RequestDetail, total: number, width: number, paint: Paint): string {
  const scale = total > 0 ? width / total : 0;
  const start = Math.min(width - 1, Math.max(0, Math.floor(r.start_ms * scale)));
  const len = Math.max(1, Math.min(width - start, Math.round(r.duration_ms * scale)));
  const bar = ' '.repeat(start) + '█'.repeat(len) + ' '.repeat(width - start - len);
  const status = r.status === undefined ? paint('red', '---') : r.status >= 400 ? paint('red', String(r.status)) : String(r.status);
  return `${paint('dim', '|')}${bar}${paint('dim', '|')} ${status} ${r.method.padEnd(4)} ${r.url}  ${ms(r.duration_ms)}`;
}

export function summaryLine(passed: number, failed: number): string {
  return `${passed} passed, ${failed} failed`;
}

function ms(v: number): string {
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function bytes(v: unknown): string {
  const n = num(v);
  return n < 1024 ? `${n} B` : n < 1_048_576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1_048_576).toFixed(1)} MB`;
}
