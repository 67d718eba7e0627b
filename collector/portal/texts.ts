// The status page's and system page's words, Danish and English. Numbers and dates are formatted
// by the caller with the language's conventions (da-DK: "99,95 %", "3. nov. 2026").
import type { Lang } from './labels.js';

export interface PortalText {
  title: string;
  skip: string;
  nav: { status: string; dependencies: string; feed: string; api: string };
  currentIncidents: string;
  maintenance: string;
  maintenanceActive: string;
  maintenanceScheduled: string;
  announcements: string;
  announcementKind: Record<'release' | 'interface_change' | 'info', string>;
  readMore: string;
  systems: string;
  pastIncidents: string;
  noPastIncidents: string;
  slow: (value: string, limit: string) => string;
  historyLabel: (problemDays: number, days: number) => string;
  daysAgo: (n: number) => string;
  today: string;
  uptimeVsTarget: (uptime: string, window: string, target: string | null, met: boolean | null) => string;
  noUptime: string;
  window: (name: string) => string;
  dayTitle: (date: string, uptime: string | null, down: string, maintenance: string) => string;
  legend: { ok: string; minor: string; major: string; maintenance: string; none: string };
  resolvedAfter: (duration: string) => string;
  started: string;
  resolved: string;
  priority: (p: number) => string;
  // The system page.
  back: string;
  probes: string;
  probe: string;
  type: string;
  target: string;
  agents: string;
  latest: string;
  passed: string;
  failed: string;
  responseTime: string;
  responseTimeNote: string;
  median: string;
  p95: string;
  noData: string;
  declaration: string;
  declared: string;
  measured: string;
  uptime: (window: string) => string;
  responseTarget: string;
  handling: string;
  priorityCol: string;
  count: string;
  firstUpdate: string;
  resolution: string;
  met: (v: boolean | null) => string;
  dependencies: string;
  dependsOn: string;
  dependants: string;
  impact: Record<'critical' | 'high' | 'low', string>;
  none: string;
  incidents: string;
  chartLabel: (probe: string) => string;
}

const WINDOW_DA: Record<string, string> = { all: 'hele døgnet', primary: 'primær driftstid', secondary: 'sekundær driftstid' };
const WINDOW_EN: Record<string, string> = { all: 'all hours', primary: 'primary hours', secondary: 'secondary hours' };

export const PORTAL_TEXT: Record<Lang, PortalText> = {
  da: {
    title: 'Driftsstatus',
    skip: 'Gå til indholdet',
    nav: { status: 'Status', dependencies: 'Afhængigheder', feed: 'Atom-feed', api: 'API' },
    currentIncidents: 'Aktuelle hændelser',
    maintenance: 'Servicevinduer',
    maintenanceActive: 'I gang',
    maintenanceScheduled: 'Planlagt',
    announcements: 'Meddelelser',
    announcementKind: { release: 'Ny version', interface_change: 'Ændret snitflade', info: 'Information' },
    readMore: 'Læs mere',
    systems: 'Systemer',
    pastIncidents: 'Tidligere hændelser (30 dage)',
    noPastIncidents: 'Ingen hændelser de seneste 30 dage.',
    slow: (value, limit) => `Lange svartider: ${value} (grænse ${limit})`,
    historyLabel: (problems, days) =>
      problems === 0 ? `Oppetid pr. dag de seneste ${days} dage: ingen dage med nedbrud` : `Oppetid pr. dag de seneste ${days} dage: ${problems} ${problems === 1 ? 'dag' : 'dage'} med nedbrud`,
    daysAgo: (n) => `${n} dage siden`,
    today: 'I dag',
    uptimeVsTarget: (uptime, window, target, met) =>
      `${uptime} oppetid i ${window} de seneste 30 dage` + (target === null ? '' : ` (mål ${target}: ${met === true ? 'opfyldt' : 'ikke opfyldt'})`),
    noUptime: 'Ingen målinger de seneste 30 dage endnu',
    window: (name) => WINDOW_DA[name] ?? name,
    dayTitle: (date, uptime, down, maintenance) =>
      `${date}: ${uptime === null ? 'ingen målinger' : `${uptime} oppetid`}${down === '' ? '' : `, nedbrud ${down}`}${maintenance === '' ? '' : `, vedligeholdelse ${maintenance}`}`,
    legend: { ok: 'Ingen nedbrud', minor: 'Kortere nedbrud (over 99 %)', major: 'Nedbrud', maintenance: 'Kun vedligeholdelse', none: 'Ingen målinger' },
    resolvedAfter: (d) => `løst efter ${d}`,
    started: 'Startede',
    resolved: 'Løst',
    priority: (p) => `prioritet ${p}`,
    back: 'Alle systemer',
    probes: 'Målinger',
    probe: 'Måling',
    type: 'Type',
    target: 'Mål',
    agents: 'Målepunkter',
    latest: 'Seneste resultat',
    passed: 'bestået',
    failed: 'fejlet',
    responseTime: 'Svartider de seneste 24 timer',
    responseTimeNote: 'Median og 95-percentil af svartiden på tværs af målepunkter, pr. 15 minutter.',
    median: 'Median',
    p95: '95-percentil',
    noData: 'Ingen målinger endnu.',
    declaration: 'Servicedeklaration og målt',
    declared: 'Deklareret',
    measured: 'Målt (30 dage)',
    uptime: (w) => `Oppetid, ${WINDOW_DA[w] ?? w}`,
    responseTarget: 'Svartid (95-percentil)',
    handling: 'Håndtering af hændelser (30 dage)',
    priorityCol: 'Prioritet',
    count: 'Antal',
    firstUpdate: 'Til første melding (median / længste)',
    resolution: 'Til løsning (median / længste)',
    met: (v) => (v === null ? '–' : v ? 'Opfyldt' : 'Ikke opfyldt'),
    dependencies: 'Afhængigheder',
    dependsOn: 'Afhænger af',
    dependants: 'Bruges af',
    impact: { critical: 'kritisk', high: 'høj', low: 'lav' },
    none: 'Ingen',
    incidents: 'Hændelser (30 dage)',
    chartLabel: (probe) => `Svartider for ${probe} de seneste 24 timer`,
  },
  en: {
    title: 'System status',
    skip: 'Skip to content',
    nav: { status: 'Status', dependencies: 'Dependencies', feed: 'Atom feed', api: 'API' },
    currentIncidents: 'Current incidents',
    maintenance: 'Service windows',
    maintenanceActive: 'In progress',
    maintenanceScheduled: 'Scheduled',
    announcements: 'Announcements',
    announcementKind: { release: 'Release', interface_change: 'Interface change', info: 'Information' },
    readMore: 'Read more',
    systems: 'Systems',
    pastIncidents: 'Past incidents (30 days)',
    noPastIncidents: 'No incidents in the last 30 days.',
    slow: (value, limit) => `Long response times: ${value} (limit ${limit})`,
    historyLabel: (problems, days) =>
      problems === 0 ? `Uptime per day over the last ${days} days: no days with outages` : `Uptime per day over the last ${days} days: ${problems} ${problems === 1 ? 'day' : 'days'} with outages`,
    daysAgo: (n) => `${n} days ago`,
    today: 'Today',
    uptimeVsTarget: (uptime, window, target, met) =>
      `${uptime} uptime in ${window} over the last 30 days` + (target === null ? '' : ` (target ${target}: ${met === true ? 'met' : 'not met'})`),
    noUptime: 'No measurements in the last 30 days yet',
    window: (name) => WINDOW_EN[name] ?? name,
    dayTitle: (date, uptime, down, maintenance) =>
      `${date}: ${uptime === null ? 'no measurements' : `${uptime} uptime`}${down === '' ? '' : `, down ${down}`}${maintenance === '' ? '' : `, maintenance ${maintenance}`}`,
    legend: { ok: 'No outage', minor: 'Short outage (above 99 %)', major: 'Outage', maintenance: 'Maintenance only', none: 'No measurements' },
    resolvedAfter: (d) => `resolved after ${d}`,
    started: 'Started',
    resolved: 'Resolved',
    priority: (p) => `priority ${p}`,
    back: 'All systems',
    probes: 'Checks',
    probe: 'Check',
    type: 'Type',
    target: 'Target',
    agents: 'Vantage points',
    latest: 'Latest result',
    passed: 'passed',
    failed: 'failed',
    responseTime: 'Response times over the last 24 hours',
    responseTimeNote: 'Median and 95th percentile of the response time across vantage points, per 15 minutes.',
    median: 'Median',
    p95: '95th percentile',
    noData: 'No measurements yet.',
    declaration: 'Service declaration and measured',
    declared: 'Declared',
    measured: 'Measured (30 days)',
    uptime: (w) => `Uptime, ${WINDOW_EN[w] ?? w}`,
    responseTarget: 'Response time (95th percentile)',
    handling: 'Incident handling (30 days)',
    priorityCol: 'Priority',
    count: 'Count',
    firstUpdate: 'To first update (median / longest)',
    resolution: 'To resolution (median / longest)',
    met: (v) => (v === null ? '–' : v ? 'Met' : 'Not met'),
    dependencies: 'Dependencies',
    dependsOn: 'Depends on',
    dependants: 'Used by',
    impact: { critical: 'critical', high: 'high', low: 'low' },
    none: 'None',
    incidents: 'Incidents (30 days)',
    chartLabel: (probe) => `Response times of ${probe} over the last 24 hours`,
  },
};
