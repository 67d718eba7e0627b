// GET /api/v2/summary.json over a real socket, field by field against Statuspage's public summary:
// components (with a group), the page indicator, unresolved incidents and scheduled maintenances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintenance, type Config } from '../../config/schema.js';
import { componentStatus, impactOf, incidentStatus, indicatorOf } from '../../collector/api/summary-v2.js';
import type { Incident, OperatorStatus } from '../../collector/status/incidents.js';
import { ADMIN_TOKEN, TestAgent, eventually, getJson, res, startHarness, testConfig, type Harness } from './helpers.js';

const H = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const systems = [
  { id: 'mitid', name: 'MitID', group: 'Log ind', description: 'Den fælles login-løsning', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
  { id: 'nemlog-in', name: 'NemLog-in', group: 'Log ind', depends_on: { mitid: 'high' }, probes: [{ id: 'front', type: 'http', url: 'https://nemlog-in.dk/' }] },
  { id: 'borger-dk', name: 'borger.dk', probes: [{ id: 'front', type: 'http', url: 'https://www.borger.dk/' }] },
  { id: 'skat', name: 'Skat', probes: [{ id: 'front', type: 'http', url: 'https://skat.dk/' }] },
];
const pastWindow = { id: 'old', systems: ['borger-dk'], start: iso(Date.now() - 3 * H), end: iso(Date.now() - 2 * H), title: 'Gammelt' };

let h: Harness;
let base: string;
let before: Awaited<ReturnType<typeof summary>>;

type Body = Record<string, unknown> & {
  page: Record<string, unknown>;
  status: { indicator: string; description: string };
  components: Record<string, unknown>[];
  incidents: (Record<string, unknown> & { incident_updates: Record<string, unknown>[]; components: Record<string, unknown>[] })[];
  scheduled_maintenances: (Record<string, unknown> & { incident_updates: Record<string, unknown>[]; components: Record<string, unknown>[] })[];
};

async function summary(q = ''): Promise<{ status: number; headers: Headers; body: Body }> {
  const r = await getJson(`${base}/api/v2/summary.json${q}`);
  return { status: r.status, headers: r.headers, body: r.body as unknown as Body };
}

const post = (body: unknown): Promise<Response> =>
  fetch(`${base}/api/v1/maintenance`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  const config = (dir: string): Config => ({
    ...testConfig(dir, { systems, collector: { public_url: 'https://status.example.dk' } }),
    maintenance: [maintenance.parse(pastWindow)],
  });
  h = await startHarness({ config });
  base = h.collector.url;
  before = await summary();
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  await a.batch(1, [
    res({ seq: 1, ts: Date.now(), ok: false, status_code: 503, error: { code: 'http_status', message: 'status 503' } }),
    res({ seq: 2, system: 'nemlog-in', ts: Date.now() }),
    res({ seq: 3, system: 'borger-dk', ts: Date.now() }),
  ]);
  await a.close();
  await eventually(async () => (await getJson(`${base}/api/v1/status`)).body.systems.find((s) => s.id === 'mitid')?.status === 'major_outage');
  expect((await post({ id: 'borger-now', systems: ['borger-dk'], start: iso(Date.now() - 60_000), end: iso(Date.now() + H), title: { da: 'Opdatering', en: 'Update' } })).status).toBe(201);
  expect((await post({ id: 'skat-later', systems: ['skat', 'mitid'], start: iso(Date.now() + 24 * H), end: iso(Date.now() + 26 * H), title: 'Ny version', description: { da: 'MitID kan ikke bruges i vinduet', en: 'MitID cannot be used' } })).status).toBe(201);
  // Status changes land behind the engine; created_at reads the first one (unknown, at start).
  await eventually(async () => ((await getJson(`${base}/api/v1/systems/mitid/history`)).body.intervals as unknown[]).length === 2);
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v2/summary.json', () => {
  it('has the page as Statuspage describes it', async () => {
    const { status, headers, body } = await summary();
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Object.keys(body)).toEqual(['page', 'components', 'incidents', 'scheduled_maintenances', 'status']);
    expect(body.page).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{12}$/),
      name: 'Driftsstatus',
      url: 'https://status.example.dk/',
      time_zone: 'Europe/Copenhagen',
      updated_at: expect.stringMatching(ISO),
    });
  });

  it('lists every known system as a component, groups as group components, and leaves unknown ones out', async () => {
    const { body } = await summary();
    const pageId = body.page.id;
    const [mitid, nemlogin, borger, group, ...rest] = body.components;
    expect(rest).toEqual([]);
    const groupId = group!.id as string;
    expect(groupId).toMatch(/^grp-[0-9a-f]{12}$/);
    expect(mitid).toEqual({
      id: 'mitid',
      name: 'MitID',
      status: 'major_outage',
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      position: 1,
      description: 'Den fælles login-løsning',
      showcase: false,
      start_date: null,
      group_id: groupId,
      page_id: pageId,
      group: false,
      only_show_if_degraded: false,
    });
    // NemLog-in depends on MitID with high impact: its users see a partial outage.
    expect(nemlogin).toMatchObject({ id: 'nemlog-in', name: 'NemLog-in', status: 'partial_outage', position: 2, description: null, group_id: groupId, group: false });
    expect(borger).toMatchObject({ id: 'borger-dk', name: 'borger.dk', status: 'under_maintenance', position: 3, group_id: null, group: false });
    expect(group).toEqual({
      id: groupId,
      name: 'Log ind',
      status: 'major_outage',
      created_at: mitid!.created_at,
      updated_at: expect.stringMatching(ISO),
      position: 5,
      description: null,
      showcase: false,
      start_date: null,
      group_id: null,
      page_id: pageId,
      group: true,
      only_show_if_degraded: false,
      components: ['mitid', 'nemlog-in'],
    });
    // created_at: when vagt first recorded the system (unknown at start); updated_at: its status's since.
    const status = (await getJson(`${base}/api/v1/status`)).body.systems;
    expect(mitid!.updated_at).toBe(status.find((s) => s.id === 'mitid')!.since);
    expect(Date.parse(mitid!.created_at as string)).toBeLessThan(Date.parse(mitid!.updated_at as string));
    // Skat has no results: unknown, which Statuspage cannot say, so it is not listed.
    expect(body.components.some((c) => c.id === 'skat')).toBe(false);
  });

  it('rolls the worst status up into the indicator, in Danish or English', async () => {
    expect((await summary()).body.status).toEqual({ indicator: 'critical', description: 'Større nedbrud' });
    expect((await summary('?lang=en')).body.status).toEqual({ indicator: 'critical', description: 'Major Service Outage' });
    // Before any result every system was unknown: nothing to list, and the words say so.
    expect(before.body.components).toEqual([]);
    expect(before.body.status).toEqual({ indicator: 'none', description: 'Status er ukendt for nogle systemer' });
  });

  it('lists the open incident as unresolved, investigating, with its impact, updates and components', async () => {
    const { body } = await summary();
    const open = (await getJson(`${base}/api/v1/incidents?state=open`)).body.incidents as { id: number; started_at: string; updates: { at: string }[] }[];
    expect(open).toHaveLength(1);
    expect(body.incidents).toHaveLength(1);
    const i = body.incidents[0]!;
    const id = String(open[0]!.id);
    expect(i).toEqual({
      id,
      name: 'Hændelse i MitID: Større nedbrud (prioritet 1)',
      status: 'investigating',
      created_at: open[0]!.started_at,
      updated_at: open[0]!.updates.at(-1)!.at,
      monitoring_at: null,
      resolved_at: null,
      impact: 'critical',
      shortlink: 'https://status.example.dk/systems/mitid',
      started_at: open[0]!.started_at,
      page_id: body.page.id,
      incident_updates: expect.any(Array),
      components: expect.any(Array),
    });
    expect(i.incident_updates.at(-1)).toEqual({
      id: `${id}-1`,
      status: 'investigating',
      body: 'Åbnet: Større nedbrud, prioritet 1. Berører MitID, NemLog-in.',
      incident_id: id,
      created_at: open[0]!.started_at,
      updated_at: open[0]!.started_at,
      display_at: open[0]!.started_at,
      affected_components: null,
      deliver_notifications: true,
      custom_tweet: null,
      tweet_id: null,
    });
    expect(i.components.map((c) => [c.id, c.status])).toEqual([
      ['mitid', 'major_outage'],
      ['nemlog-in', 'partial_outage'],
    ]);
    const en = (await summary('?lang=en')).body.incidents[0]!;
    expect(en.name).toBe('Incident in MitID: Major outage (priority 1)');
    expect(en.incident_updates.at(-1)!.body).toBe('Opened: Major outage, priority 1. Affects MitID, NemLog-in.');
    expect(en.shortlink).toBe('https://status.example.dk/systems/mitid?lang=en');
  });

  it('lists service windows in progress and to come, not past ones, as scheduled maintenances', async () => {
    const { body } = await summary();
    expect(body.scheduled_maintenances.map((m) => [m.id, m.status])).toEqual([
      ['borger-now', 'in_progress'],
      ['skat-later', 'scheduled'],
    ]);
    const w = (await getJson(`${base}/api/v1/maintenance/skat-later`)).body as unknown as { start: string; end: string; created_at: string };
    const later = body.scheduled_maintenances[1]!;
    expect(later).toEqual({
      id: 'skat-later',
      name: 'Ny version',
      status: 'scheduled',
      created_at: w.created_at,
      updated_at: w.created_at,
      monitoring_at: null,
      resolved_at: null,
      impact: 'maintenance',
      shortlink: 'https://status.example.dk/systems/skat',
      started_at: w.created_at,
      page_id: body.page.id,
      incident_updates: [
        {
          id: 'skat-later-1',
          status: 'scheduled',
          body: 'MitID kan ikke bruges i vinduet',
          incident_id: 'skat-later',
          created_at: w.created_at,
          updated_at: w.created_at,
          display_at: w.created_at,
          affected_components: [
            { code: 'skat', name: 'Skat', old_status: 'operational', new_status: 'under_maintenance' },
            { code: 'mitid', name: 'MitID', old_status: 'operational', new_status: 'under_maintenance' },
          ],
          deliver_notifications: true,
          custom_tweet: null,
          tweet_id: null,
        },
      ],
      // Skat is unknown, so only MitID is a component.
      components: [expect.objectContaining({ id: 'mitid', status: 'major_outage' })],
      scheduled_for: w.start,
      scheduled_until: w.end,
    });
    const now = body.scheduled_maintenances[0]!;
    expect(now).toMatchObject({ name: 'Opdatering', components: [expect.objectContaining({ id: 'borger-dk', status: 'under_maintenance' })] });
    expect(now.incident_updates[0]!.body).toBe('Servicevindue: Opdatering (borger.dk)');
    const en = (await summary('?lang=en')).body.scheduled_maintenances;
    expect(en.map((m) => m.name)).toEqual(['Update', 'Ny version']);
    expect(en[1]!.incident_updates[0]!.body).toBe('MitID cannot be used');
  });

  it("takes the incident's state from an operator's update", async () => {
    const [open] = (await getJson(`${base}/api/v1/incidents?state=open`)).body.incidents as { id: number }[];
    const r = await fetch(`${base}/api/v1/incidents/${open!.id}/updates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'monitoring', message: { da: 'Rettelsen er sat i drift', en: 'A fix is deployed' } }),
    });
    expect(r.status).toBe(201);
    const at = ((await r.json()) as { updates: { at: string }[] }).updates.at(-1)!.at;
    const i = (await summary()).body.incidents[0]!;
    expect(i).toMatchObject({ status: 'monitoring', monitoring_at: at, updated_at: at, resolved_at: null });
    expect(i.incident_updates[0]).toMatchObject({ status: 'monitoring', body: 'Overvåges: Rettelsen er sat i drift', created_at: at });
    expect(i.incident_updates.at(-1)).toMatchObject({ status: 'investigating' });
    expect((await summary('?lang=en')).body.incidents[0]!.incident_updates[0]!.body).toBe('Monitoring: A fix is deployed');
  });

  it('refuses a bad language and unknown parameters with a 400', async () => {
    const r = await summary('?lang=de');
    expect([r.status, (r.body as unknown as { error: unknown }).error]).toEqual([400, { code: 'bad_parameter', message: 'lang: expected "da" or "en"', parameter: 'lang' }]);
    expect((await summary('?page=2')).status).toBe(400);
  });
});

describe('the mapping', () => {
  it('rolls component statuses up as Statuspage does', () => {
    expect(indicatorOf([])).toBe('none');
    expect(indicatorOf(['operational'])).toBe('none');
    expect(indicatorOf(['operational', 'under_maintenance'])).toBe('maintenance');
    expect(indicatorOf(['under_maintenance', 'degraded_performance'])).toBe('minor');
    expect(indicatorOf(['degraded_performance', 'partial_outage'])).toBe('major');
    expect(indicatorOf(['partial_outage', 'major_outage', 'operational'])).toBe('critical');
    expect(componentStatus('unknown')).toBeUndefined();
    expect(componentStatus('degraded_performance')).toBe('degraded_performance');
  });

  it('maps priority to impact and takes an operator\'s state when an update carries one', () => {
    expect([1, 2, 3, 4].map((p) => impactOf(p as 1 | 2 | 3 | 4))).toEqual(['critical', 'major', 'minor', 'minor']);
    const u = { at: 1, kind: 'opened' as const, status: 'major_outage' as const, priority: 1 as const, affected: ['mitid'], message: 'x' };
    const incident: Incident = { id: 1, system: 'mitid', status: 'major_outage', priority: 1, peak_priority: 1, affected: ['mitid'], started_at: 1, resolved_at: null, updates: [u] };
    expect(incidentStatus(incident)).toBe('investigating');
    const said = (status: OperatorStatus): Incident => ({ ...incident, updates: [u, { ...u, at: 2, kind: 'operator', operator: { status, message: { da: 'Vi kender årsagen' } } }] });
    expect(incidentStatus(said('identified'))).toBe('identified');
    expect(incidentStatus(said('monitoring'))).toBe('monitoring');
    // An operator may call it resolved while the measurements still fail: monitoring, until they pass.
    expect(incidentStatus(said('resolved'))).toBe('monitoring');
    expect(incidentStatus({ ...incident, resolved_at: 3 })).toBe('resolved');
  });
});
