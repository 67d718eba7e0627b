// A made-up past for the status timeline: days of mostly operational time with a few outages,
// slow spells and service windows, so that a fresh demo, a screenshot or a benchmark shows 90
// days of history. Deterministic for a seed. Never used by a real collector's data.
import type { Status } from '../collector/status/types.js';
import type { Store, StatusChange } from '../collector/store/types.js';
import { seededRandom } from '../lib/random.js';

export interface SeedOptions {
  systems: readonly { id: string; depends_on?: Readonly<Record<string, string>> }[];
  days: number;
  /** History ends here (the collector takes over from now). */
  now: number;
  seed?: number;
  /** Chance per system and day of a bad spell. */
  incidentsPerDay?: number;
}

export async function seedHistory(store: Store, opts: SeedOptions): Promise<number> {
  const random = seededRandom(opts.seed ?? 11);
  const from = opts.now - opts.days * 86_400_000;
  const rate = opts.incidentsPerDay ?? 0.04;
  const bad: { status: Status; minutes: [number, number] }[] = [
    { status: 'major_outage', minutes: [3, 90] },
    { status: 'partial_outage', minutes: [5, 60] },
    { status: 'degraded_performance', minutes: [10, 120] },
    { status: 'under_maintenance', minutes: [60, 240] },
  ];
  let rows = 0;
  for (const s of opts.systems) {
    const changes: StatusChange[] = [];
    const put = (status: Status, at: number, cause: string[] = []): void => {
      for (const view of ['perceived', 'own'] as const) changes.push({ system: s.id, view, status, cause, at });
    };
    put('operational', from);
    for (let day = 0; day < opts.days; day++) {
      if (random() >= rate) continue;
      const spell = bad[Math.floor(random() * bad.length)]!;
      const start = from + day * 86_400_000 + Math.floor(random() * 86_400_000);
      const minutes = spell.minutes[0] + random() * (spell.minutes[1] - spell.minutes[0]);
      const end = Math.min(opts.now - 60_000, start + minutes * 60_000);
      if (end <= start) continue;
      put(spell.status, start);
      put('operational', end);
    }
    // Spells late on one day may reach past the start of the next: the timeline is kept in order.
    await store.recordStatusChanges(changes.sort((a, b) => a.at - b.at));
    rows += changes.length;
  }
  return rows;
}
