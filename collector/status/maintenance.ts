// Service windows: from the configuration (replaced on every reload) and announced over the API
// (kept in the store, across reloads and restarts). Pure: the status engine asks, for every
// system on every evaluation, whether a window covers it now, so that lookup is indexed.
import { createHash } from 'node:crypto';
import type { MaintenanceConfig } from '../../config/schema.js';

export type Localized = { da: string; en?: string };
export type WindowSource = 'config' | 'api';
/** Statuspage's words for a window's state. */
export type WindowState = 'scheduled' | 'in_progress' | 'completed';

export const WINDOW_STATES: readonly WindowState[] = ['scheduled', 'in_progress', 'completed'];

export interface MaintenanceWindow {
  id: string;
  systems: string[];
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  title: Localized;
  description?: Localized;
  source: WindowSource;
  /** When it was announced (API) or first loaded (configuration), epoch ms. */
  created_at: number;
}

export function stateAt(w: Pick<MaintenanceWindow, 'start' | 'end'>, now: number): WindowState {
  if (now < w.start) return 'scheduled';
  return now < w.end ? 'in_progress' : 'completed';
}

export function localized(v: string | { da: string; en?: string | undefined }): Localized {
  if (typeof v === 'string') return { da: v };
  return v.en === undefined ? { da: v.da } : { da: v.da, en: v.en };
}

/** A configuration window without an id gets one from its content, stable across restarts. */
export function configWindowId(m: Pick<MaintenanceConfig, 'systems' | 'start' | 'end'>, start: number, end: number): string {
  const text = JSON.stringify([[...m.systems].sort(), start, end]);
  return `cfg-${createHash('sha256').update(text).digest('hex').slice(0, 10)}`;
}

/** The configuration's windows, in file order. */
export function configWindows(config: readonly MaintenanceConfig[], loadedAt: number): MaintenanceWindow[] {
  return config.map((m) => {
    const start = Date.parse(m.start);
    const end = Date.parse(m.end);
    const w: MaintenanceWindow = {
      id: m.id ?? configWindowId(m, start, end),
      systems: [...m.systems],
      start,
      end,
      title: localized(m.title),
      source: 'config',
      created_at: loadedAt,
    };
    if (m.description !== undefined) w.description = localized(m.description);
    return w;
  });
}

export class MaintenanceCalendar {
  #config: MaintenanceWindow[] = [];
  readonly #announced = new Map<string, MaintenanceWindow>();
  /** System -> its windows, rebuilt when the windows change (rarely). */
  #bySystem = new Map<string, MaintenanceWindow[]>();

  setConfigWindows(windows: readonly MaintenanceWindow[]): void {
    // A window the file still has keeps when it was first loaded, so a reload does not renew it.
    const before = new Map(this.#config.map((w) => [w.id, w.created_at]));
    this.#config = windows.map((w) => {
      const at = before.get(w.id);
      return at === undefined || at === w.created_at ? w : { ...w, created_at: at };
    });
    this.#reindex();
  }

  add(w: MaintenanceWindow): void {
    this.#announced.set(w.id, w);
    this.#reindex();
  }

  remove(id: string): boolean {
    const removed = this.#announced.delete(id);
    if (removed) this.#reindex();
    return removed;
  }

  get(id: string): MaintenanceWindow | undefined {
    return this.#announced.get(id) ?? this.#config.find((w) => w.id === id);
  }

  /** The window covering `system` at `now` (start inclusive, end exclusive), if any. */
  activeFor(system: string, now: number): MaintenanceWindow | undefined {
    const list = this.#bySystem.get(system);
    if (list === undefined) return undefined;
    for (const w of list) if (now >= w.start && now < w.end) return w;
    return undefined;
  }

  /** Starts and ends of the system's windows within [from, to). */
  edges(system: string, from: number, to: number): number[] {
    const out: number[] = [];
    for (const w of this.#bySystem.get(system) ?? []) for (const t of [w.start, w.end]) if (t >= from && t < to) out.push(t);
    return out;
  }

  /** Every window with its state at `now`, by start. */
  list(now: number): (MaintenanceWindow & { state: WindowState })[] {
    return this.#all()
      .sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1))
      .map((w) => ({ ...w, state: stateAt(w, now) }));
  }

  #all(): MaintenanceWindow[] {
    return [...this.#config, ...this.#announced.values()];
  }

  #reindex(): void {
    const by = new Map<string, MaintenanceWindow[]>();
    for (const w of this.#all())
      for (const s of w.systems) {
        const list = by.get(s);
        if (list === undefined) by.set(s, [w]);
        else list.push(w);
      }
    this.#bySystem = by;
  }
}
