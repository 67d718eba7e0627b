// The dependency map: systems as nodes, `depends_on` entries as edges from the dependant to its
// dependency, laid out by elkjs (layered, orthogonal edges) and drawn as SVG. The layout depends
// only on the configuration, so it is computed once per revision; statuses change per request and
// only recolour the nodes and edges.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ELK, ElkNode } from 'elkjs/lib/elk-api.js';
import type { Impact, SystemConfig } from '../../config/schema.js';
import type { Model } from '../model.js';
import type { Status, SystemStatus } from '../status/types.js';
import { textWidth } from './badge.js';
import { escapeXml } from './xml.js';
import { STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, type Lang } from './labels.js';

export interface Point {
  x: number;
  y: number;
}

export interface MapNode {
  id: string;
  /** The name as drawn (long names are cut); the full one is in the node's tooltip. */
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface MapEdge {
  /** The dependant. */
  from: string;
  /** The dependency; the arrow points at it. */
  to: string;
  impact: Impact;
  /** Orthogonal polyline from the dependant's border to the dependency's. */
  points: Point[];
}

export interface MapLayout {
  revision: string;
  width: number;
  height: number;
  nodes: MapNode[];
  edges: MapEdge[];
}

const NODE_HEIGHT = 46;
const PAD_X = 14;
const NAME_PX = 13;
const STATUS_PX = 12;
const MAX_NAME = 36;
// Every node has room for the longest status in either language, so the layout (made once per
// configuration) never depends on the statuses or the language of a request.
const STATUS_WIDTH = Math.max(
  ...(['da', 'en'] as const).flatMap((lang) =>
    (Object.keys(STATUS_LABEL[lang]) as Status[]).map((s) => textWidth(`${STATUS_SYMBOL[s]} ${STATUS_LABEL[lang][s]}`, STATUS_PX)),
  ),
);

const clip = (s: string, max: number): string => {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
};

/** Layered, roots (what others depend on, such as MitID) at the left, dependants to their right. */
const LAYOUT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'LEFT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.spacing.nodeNode': '22',
  'elk.layered.spacing.nodeNodeBetweenLayers': '64',
  'elk.spacing.edgeNode': '14',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.spacing.edgeEdge': '8',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '8',
  'elk.spacing.componentComponent': '36',
  'elk.padding': '[top=16,left=16,bottom=16,right=16]',
  // Keep the configuration's order where the layout leaves a choice: stable, and as written.
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.separateConnectedComponents': 'true',
  'elk.aspectRatio': '1.6',
};

// --- elkjs, off the event loop ----------------------------------------------------------------
// A layout of a hundred systems costs elkjs a few hundred milliseconds of CPU (seconds on a busy
// machine): run on the collector's thread it would stall ingest and heartbeats meanwhile. So it
// runs on a worker thread, started on the first map and stopped when idle; only if a worker
// cannot run at all is it done here.

const ELK_PATH = createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js');
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const ELK = require(${JSON.stringify(ELK_PATH)});
const elk = new ELK();
parentPort.on('message', ({ id, graph }) => {
  elk.layout(graph).then(
    (out) => parentPort.postMessage({ id, out }),
    (err) => parentPort.postMessage({ id, error: String((err && err.message) || err) }),
  );
});
`;
const LAYOUT_TIMEOUT_MS = 30_000;
const WORKER_IDLE_MS = 30_000;

/** The worker could not run (as opposed to a layout that failed or took too long in it). */
class WorkerUnavailable extends Error {}

interface Pending {
  resolve: (out: ElkNode) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class ElkWorker {
  #worker: Worker | undefined;
  #laidOut = false;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #idle: NodeJS.Timeout | undefined;

  layout(graph: ElkNode): Promise<ElkNode> {
    clearTimeout(this.#idle);
    let w: Worker;
    try {
      w = this.#spawn();
    } catch (err) {
      return Promise.reject(new WorkerUnavailable(String(err)));
    }
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#failAll(new Error(`the layout took longer than ${LAYOUT_TIMEOUT_MS} ms`)), LAYOUT_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      w.postMessage({ id, graph });
    });
  }

  #spawn(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    // A layout in progress must not keep a collector that is shutting down alive.
    w.unref();
    w.on('message', (m: { id: number; out?: ElkNode; error?: string }) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.out === undefined) p.reject(new Error(`the layout failed: ${m.error ?? 'no result'}`));
      else {
        this.#laidOut = true;
        p.resolve(m.out);
      }
      if (this.#pending.size === 0) {
        this.#idle = setTimeout(() => this.#stop(), WORKER_IDLE_MS);
        this.#idle.unref();
      }
    });
    w.on('error', (err) => this.#failAll(this.#laidOut ? err : new WorkerUnavailable(err.message)));
    w.on('exit', () => {
      if (this.#worker === w) this.#failAll(new Error('the layout worker stopped'));
    });
    this.#worker = w;
    return w;
  }

  #failAll(err: Error): void {
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) void w.terminate();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
  }

  #stop(): void {
    if (this.#pending.size > 0) return;
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) void w.terminate();
  }
}

let worker: ElkWorker | undefined;
let inThread: Promise<ELK> | undefined;

async function runElk(graph: ElkNode): Promise<ElkNode> {
  worker ??= new ElkWorker();
  try {
    return await worker.layout(graph);
  } catch (err) {
    if (!(err instanceof WorkerUnavailable)) throw err;
    // No worker threads here: lay out on this thread (elkjs loaded on first use).
    inThread ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default.default());
    return (await inThread).layout(graph);
  }
}

/** The edges of a configuration: every `depends_on` entry whose systems both exist. */
export function dependencyEdges(systems: readonly SystemConfig[]): { from: string; to: string; impact: Impact }[] {
  const ids = new Set(systems.map((s) => s.id));
  return systems.flatMap((s) =>
    Object.entries(s.depends_on)
      .filter(([dep]) => ids.has(dep) && dep !== s.id)
      .map(([dep, impact]) => ({ from: s.id, to: dep, impact })),
  );
}

export async function computeLayout(model: Model): Promise<MapLayout> {
  const labels = new Map(model.systems.map((s) => [s.id, clip(s.name, MAX_NAME)]));
  const edges = dependencyEdges(model.systems);
  if (model.systems.length === 0) return { revision: model.revision, width: 0, height: 0, nodes: [], edges: [] };
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: LAYOUT_OPTIONS,
    children: model.systems.map((s) => ({
      id: s.id,
      width: Math.ceil(Math.max(textWidth(labels.get(s.id) ?? '', NAME_PX) * 1.08, STATUS_WIDTH) + 2 * PAD_X),
      height: NODE_HEIGHT,
    })),
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  };
  const out = await runElk(graph);
  const placed = new Map((out.children ?? []).map((c) => [c.id, c]));
  const nodes = model.systems.map((s): MapNode => {
    const c = placed.get(s.id);
    return { id: s.id, label: labels.get(s.id) ?? s.id, x: c?.x ?? 0, y: c?.y ?? 0, width: c?.width ?? 0, height: c?.height ?? NODE_HEIGHT };
  });
  const sections = new Map((out.edges ?? []).map((e) => [e.id, e.sections?.[0]]));
  return {
    revision: model.revision,
    width: Math.ceil(out.width ?? 0),
    height: Math.ceil(out.height ?? 0),
    nodes,
    edges: edges.map((e, i) => {
      const s = sections.get(`e${i}`);
      return { ...e, points: s === undefined ? [] : [s.startPoint, ...(s.bendPoints ?? []), s.endPoint] };
    }),
  };
}

/** Layouts by configuration revision: one promise each, so concurrent requests share one run. */
export class LayoutCache {
  readonly #byRevision = new Map<string, Promise<MapLayout>>();
  readonly #keep: number;

  constructor(keep = 4) {
    this.#keep = keep;
  }

  get(model: Model): Promise<MapLayout> {
    const hit = this.#byRevision.get(model.revision);
    if (hit !== undefined) return hit;
    const p = computeLayout(model);
    // A failed layout is not remembered: the next request tries again.
    p.catch(() => {
      if (this.#byRevision.get(model.revision) === p) this.#byRevision.delete(model.revision);
    });
    this.#byRevision.set(model.revision, p);
    // Old revisions go (oldest first); a reload rarely returns to one.
    while (this.#byRevision.size > this.#keep) {
      const oldest = this.#byRevision.keys().next().value;
      if (oldest === undefined) break;
      this.#byRevision.delete(oldest);
    }
    return p;
  }
}

// --- Drawing -------------------------------------------------------------------------------

export const MAP_TEXT = {
  da: {
    title: 'Afhængigheder',
    mapTitle: 'Afhængighedskort',
    impact: { critical: 'kritisk', high: 'høj', low: 'lav' } satisfies Record<Impact, string>,
    impactLegend: {
      critical: 'Kritisk: et nedbrud slår fuldt igennem',
      high: 'Høj: et nedbrud giver delvist nedbrud',
      low: 'Lav: mærkes næppe af brugerne',
    } satisfies Record<Impact, string>,
    arrow: 'Pilen peger på det system, der afhænges af',
    downEdge: 'Fremhævet: et nedbrud, der slår igennem',
    statuses: 'Status',
    dependencies: 'Afhængighed',
    none: 'Ingen systemer er konfigureret.',
    summary: (systems: number, edges: number) =>
      `${systems === 1 ? '1 system' : `${systems} systemer`} og ${edges === 1 ? '1 afhængighed' : `${edges} afhængigheder`}.`,
    dependsOn: (list: string) => `afhænger af ${list}`,
    noDeps: 'ingen afhængigheder',
  },
  en: {
    title: 'Dependencies',
    mapTitle: 'Dependency map',
    impact: { critical: 'critical', high: 'high', low: 'low' } satisfies Record<Impact, string>,
    impactLegend: {
      critical: 'Critical: an outage carries through in full',
      high: 'High: an outage gives a partial outage',
      low: 'Low: hardly noticed by users',
    } satisfies Record<Impact, string>,
    arrow: 'The arrow points at the system depended on',
    downEdge: 'Highlighted: an outage that carries through',
    statuses: 'Status',
    dependencies: 'Dependency',
    none: 'No systems are configured.',
    summary: (systems: number, edges: number) =>
      `${systems === 1 ? '1 system' : `${systems} systems`} and ${edges === 1 ? '1 dependency' : `${edges} dependencies`}.`,
    dependsOn: (list: string) => `depends on ${list}`,
    noDeps: 'no dependencies',
  },
} as const;

/** Light fills behind dark text; the border carries the status colour. */
export const STATUS_FILL: Record<Status, string> = {
  operational: '#dafbe1',
  degraded_performance: '#fff8c5',
  partial_outage: '#fff1e5',
  major_outage: '#ffebe9',
  under_maintenance: '#ddf4ff',
  unknown: '#f6f8fa',
};

const TEXT_COLOUR = '#1f2328';
const EDGE_COLOUR = '#424a53';

/** Line styles by impact, so they read without colour: solid and thick, dashed, dotted and thin. */
export const IMPACT_STROKE: Record<Impact, { width: number; dash: string | undefined }> = {
  critical: { width: 2.6, dash: undefined },
  high: { width: 1.8, dash: '7 4' },
  low: { width: 1.3, dash: '1.5 3.5' },
};

/** A dependency in one of these is "down". */
const DOWN: ReadonlySet<Status> = new Set(['major_outage', 'partial_outage']);

/**
 * Whether the edge carries its dependency's outage to the dependant (critical and high do; low
 * imposes nothing): such edges are drawn in the dependency's colour, on top of the others.
 */
export function carriesOutage(impact: Impact, dependency: Status): boolean {
  return DOWN.has(dependency) && impact !== 'low';
}

export function strokeAttrs(impact: Impact, colour: string): string {
  const s = IMPACT_STROKE[impact];
  return `stroke="${colour}" stroke-width="${s.width}"${s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}" stroke-linecap="round"`}`;
}

const num = (n: number): string => String(Math.round(n * 10) / 10);

function pathOf(points: readonly Point[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(p.x)} ${num(p.y)}`).join(' ');
}

export interface SvgOptions {
  lang: Lang;
  statusOf: (id: string) => SystemStatus | undefined;
  /**
   * `img` for the stand-alone file (one image with a text alternative); `group` when inlined in
   * the page, so its links stay reachable (an image's parts are presentational).
   */
  role: 'img' | 'group';
  /** Draw the legend into the SVG (the stand-alone file); the page has its own in HTML. */
  legend: boolean;
}

interface LegendPiece {
  width: number;
  draw: (x: number, y: number) => string;
}

/** The legend pieces, flowed into rows no wider than `maxWidth`. */
function drawLegend(lang: Lang, maxWidth: number, top: number): { svg: string; height: number; width: number } {
  const t = MAP_TEXT[lang];
  const rowH = 22;
  const rows: LegendPiece[][] = [];
  const heading = (s: string): LegendPiece => ({
    width: textWidth(`${s}:`, 12) * 1.15 + 14,
    draw: (x, y) => `<text x="${num(x)}" y="${num(y + 15)}" font-size="12" font-weight="600" fill="${TEXT_COLOUR}">${escapeXml(s)}:</text>`,
  });
  const impacts: LegendPiece[] = (['critical', 'high', 'low'] as const).map((impact) => {
    const label = t.impactLegend[impact];
    return {
      width: 44 + textWidth(label, 12) + 18,
      draw: (x, y) =>
        `<path d="M${num(x)} ${num(y + 11)} L${num(x + 34)} ${num(y + 11)}" fill="none" ${strokeAttrs(impact, EDGE_COLOUR)} marker-end="url(#dm-arrow)"/>` +
        `<text x="${num(x + 44)}" y="${num(y + 15)}" font-size="12" fill="${TEXT_COLOUR}">${escapeXml(label)}</text>`,
    };
  });
  const down: LegendPiece = {
    width: 44 + textWidth(t.downEdge, 12) + 18,
    draw: (x, y) =>
      `<path d="M${num(x)} ${num(y + 11)} L${num(x + 34)} ${num(y + 11)}" fill="none" ${strokeAttrs('critical', STATUS_COLOUR.major_outage)} marker-end="url(#dm-arrow-major_outage)"/>` +
      `<text x="${num(x + 44)}" y="${num(y + 15)}" font-size="12" fill="${TEXT_COLOUR}">${escapeXml(t.downEdge)}</text>`,
  };
  const arrow: LegendPiece = {
    width: textWidth(t.arrow, 12) + 18,
    draw: (x, y) => `<text x="${num(x)}" y="${num(y + 15)}" font-size="12" font-style="italic" fill="${TEXT_COLOUR}">${escapeXml(t.arrow)}</text>`,
  };
  const statuses: LegendPiece[] = (Object.keys(STATUS_LABEL[lang]) as Status[]).map((s) => {
    const label = `${STATUS_SYMBOL[s]} ${STATUS_LABEL[lang][s]}`;
    return {
      width: 24 + textWidth(label, 12) + 16,
      draw: (x, y) =>
        `<rect x="${num(x)}" y="${num(y + 3)}" width="18" height="14" rx="3" fill="${STATUS_FILL[s]}" stroke="${STATUS_COLOUR[s]}" stroke-width="2"/>` +
        `<text x="${num(x + 24)}" y="${num(y + 15)}" font-size="12" fill="${TEXT_COLOUR}">${escapeXml(label)}</text>`,
    };
  });
  const flow = (pieces: LegendPiece[]): void => {
    let row: LegendPiece[] = [];
    let w = 0;
    for (const p of pieces) {
      if (row.length > 0 && w + p.width > maxWidth) {
        rows.push(row);
        row = [];
        w = 0;
      }
      row.push(p);
      w += p.width;
    }
    if (row.length > 0) rows.push(row);
  };
  flow([heading(t.dependencies), ...impacts, down, arrow]);
  flow([heading(t.statuses), ...statuses]);
  let svg = '';
  let width = 0;
  rows.forEach((row, i) => {
    let x = 16;
    for (const p of row) {
      svg += p.draw(x, top + i * rowH);
      x += p.width;
    }
    width = Math.max(width, x);
  });
  return { svg: `<g class="legend" aria-hidden="true">${svg}</g>`, height: rows.length * rowH + 12, width: Math.ceil(width + 16) };
}

/** Arrowheads: one per colour an edge can take (SVG 1.1 markers do not take the line's colour). */
function markers(): string {
  const colours: [string, string][] = [
    ['dm-arrow', EDGE_COLOUR],
    ['dm-arrow-major_outage', STATUS_COLOUR.major_outage],
    ['dm-arrow-partial_outage', STATUS_COLOUR.partial_outage],
  ];
  return colours
    .map(
      ([id, c]) =>
        `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="${c}"/></marker>`,
    )
    .join('');
}

/** The text alternative: what the map shows, in words. */
export function mapDescription(systems: readonly SystemConfig[], lang: Lang, statusOf: (id: string) => SystemStatus | undefined): string {
  const t = MAP_TEXT[lang];
  if (systems.length === 0) return t.none;
  const names = new Map(systems.map((s) => [s.id, s.name]));
  const edges = dependencyEdges(systems);
  const lines = systems.map((s) => {
    const status = statusOf(s.id)?.status ?? 'unknown';
    const deps = edges.filter((e) => e.from === s.id).map((e) => `${names.get(e.to) ?? e.to} (${t.impact[e.impact]})`);
    return `${s.name}: ${STATUS_LABEL[lang][status]}; ${deps.length === 0 ? t.noDeps : t.dependsOn(deps.join(', '))}.`;
  });
  return [t.summary(systems.length, edges.length), ...lines].join(' ');
}

export function renderMapSvg(layout: MapLayout, systems: readonly SystemConfig[], opts: SvgOptions): string {
  const { lang } = opts;
  const t = MAP_TEXT[lang];
  const labels = STATUS_LABEL[lang];
  const byId = new Map(systems.map((s) => [s.id, s]));
  const status = (id: string): Status => opts.statusOf(id)?.status ?? 'unknown';

  // Edges that carry an outage last, so they are drawn over the others.
  const carries = (e: MapEdge): boolean => carriesOutage(e.impact, status(e.to));
  const edges = [...layout.edges].sort((a, b) => Number(carries(a)) - Number(carries(b)));
  const edgeSvg = edges
    .filter((e) => e.points.length >= 2)
    .map((e) => {
      const depStatus = status(e.to);
      const down = carries(e);
      const colour = down ? STATUS_COLOUR[depStatus] : EDGE_COLOUR;
      const marker = down ? `dm-arrow-${depStatus}` : 'dm-arrow';
      return `<path class="edge impact-${e.impact}${down ? ' edge-down' : ''}" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}" data-impact="${e.impact}" d="${pathOf(e.points)}" fill="none" ${strokeAttrs(e.impact, colour)} stroke-linejoin="round" marker-end="url(#${marker})"/>`;
    })
    .join('\n');

  const nodeSvg = layout.nodes
    .map((n) => {
      const s = status(n.id);
      const name = byId.get(n.id)?.name ?? n.id;
      const words = labels[s];
      const deps = Object.entries(byId.get(n.id)?.depends_on ?? {}).map(([d, i]) => `${byId.get(d)?.name ?? d} (${t.impact[i]})`);
      const tip = `${name}: ${words}${deps.length === 0 ? '' : ` – ${t.dependsOn(deps.join(', '))}`}`;
      const href = escapeXml(`/systems/${encodeURIComponent(n.id)}`);
      const cx = n.x + PAD_X;
      return (
        `<a class="node status-${s}" href="${href}" xlink:href="${href}" data-system="${escapeXml(n.id)}" data-status="${s}" aria-label="${escapeXml(`${name}: ${words}`)}">` +
        `<title>${escapeXml(tip)}</title>` +
        `<rect x="${num(n.x)}" y="${num(n.y)}" width="${num(n.width)}" height="${num(n.height)}" rx="7" fill="${STATUS_FILL[s]}" stroke="${STATUS_COLOUR[s]}" stroke-width="2"/>` +
        `<text x="${num(cx)}" y="${num(n.y + 19)}" font-size="${NAME_PX}" font-weight="600" fill="${TEXT_COLOUR}">${escapeXml(n.label)}</text>` +
        `<text x="${num(cx)}" y="${num(n.y + 36)}" font-size="${STATUS_PX}" fill="${STATUS_COLOUR[s]}"><tspan aria-hidden="true">${STATUS_SYMBOL[s]}</tspan> ${escapeXml(words)}</text>` +
        `</a>`
      );
    })
    .join('\n');

  const empty = layout.nodes.length === 0;
  let width = empty ? 320 : layout.width;
  let height = empty ? 56 : layout.height;
  const emptySvg = empty ? `<text x="16" y="34" font-size="14" fill="${TEXT_COLOUR}">${escapeXml(t.none)}</text>` : '';
  let legendSvg = '';
  if (opts.legend) {
    const legend = drawLegend(lang, Math.max(width, 520), height);
    legendSvg = legend.svg;
    width = Math.max(width, legend.width);
    height += legend.height;
  }
  const desc = mapDescription(systems, lang, opts.statusOf);
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="dependency-map" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="${opts.role}" ${opts.role === 'img' ? 'aria-labelledby="dm-title dm-desc"' : 'aria-labelledby="dm-title" aria-describedby="dm-desc"'} font-family="system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif">
<title id="dm-title">${escapeXml(t.mapTitle)}</title>
<desc id="dm-desc">${escapeXml(desc)}</desc>
<defs>${markers()}</defs>
<rect class="background" width="${width}" height="${height}" fill="#ffffff"/>
<g class="edges" aria-hidden="true">
${edgeSvg}
</g>
<g class="nodes">
${nodeSvg}
</g>
${emptySvg}${legendSvg}
</svg>
`;
}
