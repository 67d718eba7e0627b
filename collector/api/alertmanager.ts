// POST /api/v1/alertmanager: Prometheus Alertmanager's webhook (payload version 4) from an external
// source. An alert names its system by the label `vagt_system` (or `system`) and may name a probe
// by `vagt_probe`; a target fails while any of its alerts fires. Alerts that name nothing we know
// are answered as ignored with a 200, because Alertmanager would otherwise retry them for ever.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CollectorContext } from '../context.js';
import { HttpError, readJson, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { onlyParams } from './params.js';
import { reportTargets, requireSource } from './external-reports.js';

/** Alertmanager sends every alert of a group at once; big groups happen. */
const BODY_LIMIT = 1024 * 1024;
const MAX_ALERTS = 1000;

const labels = z.record(z.string(), z.string());
const payload = z.object({
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved'], { error: 'expected "firing" or "resolved"' }),
        labels,
        annotations: labels.optional(),
        fingerprint: z.string().max(200).optional(),
      }),
    )
    .max(MAX_ALERTS, `at most ${MAX_ALERTS} alerts in one notification`),
});

type Alert = z.output<typeof payload>['alerts'][number];

/** Alertmanager's fingerprint, or the same idea for senders without one: a hash of the labels. */
function fingerprintOf(a: Alert): string {
  if (a.fingerprint !== undefined && a.fingerprint !== '') return a.fingerprint;
  const sorted = Object.keys(a.labels)
    .sort()
    .map((k) => `${k}=${a.labels[k] ?? ''}`);
  return createHash('sha256').update(sorted.join('\u0000')).digest('hex').slice(0, 16);
}

const summaryOf = (a: Alert): string =>
  (a.annotations?.summary ?? a.annotations?.description ?? a.labels.alertname ?? 'alert firing').slice(0, 1000);

export function alertmanagerRoute(router: Router, ctx: CollectorContext): void {
  router.post('/api/v1/alertmanager', async (req, res, { url }) => {
    onlyParams(url.searchParams, []);
    const source = requireSource(req, ctx);
    const parsed = payload.safeParse(await readJson(req, BODY_LIMIT));
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first === undefined || first.path.length === 0 ? '' : `${first.path.join('.')}: `;
      throw new HttpError(400, 'invalid_body', `not an Alertmanager webhook payload: ${where}${first?.message ?? 'invalid'}`);
    }
    const ignored: { fingerprint: string; reason: string }[] = [];
    // Per system: probe -> the latest firing alert's summary ('' when none fires), after this payload.
    const touched = new Map<string, Set<string>>();
    const lastSummary = new Map<string, string>();
    for (const a of parsed.data.alerts) {
      const fingerprint = fingerprintOf(a);
      const system = a.labels.vagt_system ?? a.labels.system;
      if (system === undefined) {
        ignored.push({ fingerprint, reason: 'no vagt_system label' });
        continue;
      }
      const probe = a.labels.vagt_probe;
      let probes: string[];
      try {
        probes = reportTargets(ctx, source, system, probe);
      } catch (err) {
        ignored.push({ fingerprint, reason: err instanceof HttpError ? err.message : 'not reportable' });
        continue;
      }
      ctx.external.reports.noteAlert(source, system, probe, fingerprint, a.status === 'firing');
      if (a.status === 'firing') lastSummary.set(system, summaryOf(a));
      const set = touched.get(system) ?? new Set<string>();
      for (const p of probes) set.add(p);
      touched.set(system, set);
    }
    const now = ctx.clock.now();
    const accepted: { system: string; probe: string; ok: boolean; firing: number }[] = [];
    for (const [system, probes] of touched) {
      // A probe fails while an alert fires for it or for its whole system.
      const whole = ctx.external.reports.firing(source, system, undefined);
      for (const probe of probes) {
        const firing = whole + ctx.external.reports.firing(source, system, probe);
        accepted.push({ system, probe, ok: firing === 0, firing });
      }
    }
    // Queued together, so the commit queue stores them in one transaction.
    await Promise.all(
      accepted.map((a) =>
        ctx.external.reports.record(source, a.system, [a.probe], {
          ok: a.ok,
          ts: now,
          detail: { external: { via: 'alertmanager', firing: a.firing } },
          ...(a.ok ? {} : { message: lastSummary.get(a.system) ?? 'alert firing' }),
        }),
      ),
    );
    if (ignored.length > 0) ctx.log.warn({ source, ignored: ignored.slice(0, 10) }, 'alertmanager alerts ignored');
    sendJson(res, 200, { source, accepted, ignored });
  });
}
