// Words and colours for statuses. Status is always shown in words and a symbol as well as a
// colour, so it reads without colour vision (WCAG 1.4.1).
import type { OperatorStatus } from '../status/incidents.js';
import type { Status } from '../status/types.js';

export type Lang = 'da' | 'en';

export const STATUS_LABEL: Record<Lang, Record<Status, string>> = {
  da: {
    operational: 'Kører',
    degraded_performance: 'Nedsat ydeevne',
    partial_outage: 'Delvist nedbrud',
    major_outage: 'Større nedbrud',
    under_maintenance: 'Planlagt vedligeholdelse',
    unknown: 'Ukendt',
  },
  en: {
    operational: 'Operational',
    degraded_performance: 'Degraded performance',
    partial_outage: 'Partial outage',
    major_outage: 'Major outage',
    under_maintenance: 'Under maintenance',
    unknown: 'Unknown',
  },
};

/** Statuspage's incident states, as operators set them (POST /api/v1/incidents/{id}/updates). */
export const OPERATOR_LABEL: Record<Lang, Record<OperatorStatus, string>> = {
  da: { investigating: 'Undersøges', identified: 'Årsag fundet', monitoring: 'Overvåges', resolved: 'Løst' },
  en: { investigating: 'Investigating', identified: 'Identified', monitoring: 'Monitoring', resolved: 'Resolved' },
};

/** Foreground colours with at least 4.5:1 contrast on white. */
export const STATUS_COLOUR: Record<Status, string> = {
  operational: '#1a7f37',
  degraded_performance: '#8a5a00',
  partial_outage: '#b34700',
  major_outage: '#c21f2c',
  under_maintenance: '#0960c8',
  unknown: '#59636e',
};

export const STATUS_SYMBOL: Record<Status, string> = {
  operational: '✓',
  degraded_performance: '◔',
  partial_outage: '◑',
  major_outage: '✕',
  under_maintenance: '⚙',
  unknown: '?',
};

export const TEXT = {
  da: {
    title: 'Driftsstatus',
    updated: 'Opdateret',
    since: 'siden',
    /** The status comes from the systems named, not from this one ("Påvirket af NemLog-in"). */
    affectedBy: (names: string) => `Påvirket af ${names}`,
    system: 'System',
    status: 'Status',
    allOk: 'Alle systemer kører',
    someProblems: (n: number) => (n === 1 ? '1 system har problemer' : `${n} systemer har problemer`),
    someUnknown: 'Status er ukendt for nogle systemer',
    someMaintenance: (n: number) => (n === 1 ? '1 system er under planlagt vedligeholdelse' : `${n} systemer er under planlagt vedligeholdelse`),
    none: 'Ingen systemer er konfigureret.',
    other: 'English',
    incidents: 'Aktuelle hændelser',
    incident: (system: string, priority: number) => `${system} (prioritet ${priority})`,
    affects: (names: string) => `Berører ${names}`,
  },
  en: {
    title: 'System status',
    updated: 'Updated',
    since: 'since',
    affectedBy: (names: string) => `Affected by ${names}`,
    system: 'System',
    status: 'Status',
    allOk: 'All systems operational',
    someProblems: (n: number) => (n === 1 ? '1 system has problems' : `${n} systems have problems`),
    someUnknown: 'The status of some systems is unknown',
    someMaintenance: (n: number) => (n === 1 ? '1 system is under maintenance' : `${n} systems are under maintenance`),
    none: 'No systems are configured.',
    other: 'Dansk',
    incidents: 'Current incidents',
    incident: (system: string, priority: number) => `${system} (priority ${priority})`,
    affects: (names: string) => `Affects ${names}`,
  },
} as const;
