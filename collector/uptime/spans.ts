// Sets of time as sorted, disjoint, half-open stretches [from, to) of epoch milliseconds.
export interface Span {
  from: number;
  to: number;
}

/** Sorts and merges overlapping or touching spans; empty ones vanish. */
export function union(spans: readonly Span[]): Span[] {
  const sorted = spans.filter((s) => s.to > s.from).sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else out.push({ from: s.from, to: s.to });
  }
  return out;
}

/** What both sorted, disjoint lists cover. */
export function intersect(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const from = Math.max(x.from, y.from);
    const to = Math.min(x.to, y.to);
    if (to > from) out.push({ from, to });
    if (x.to < y.to) i++;
    else j++;
  }
  return out;
}

/** [from, to) less the sorted, disjoint `spans`. */
export function complement(spans: readonly Span[], from: number, to: number): Span[] {
  const out: Span[] = [];
  let cursor = from;
  for (const s of spans) {
    if (s.to <= cursor) continue;
    if (s.from >= to) break;
    if (s.from > cursor) out.push({ from: cursor, to: s.from });
    cursor = Math.max(cursor, s.to);
  }
  if (cursor < to) out.push({ from: cursor, to });
  return out;
}

/** `a` (sorted, disjoint) less whatever `b` (any order) covers. */
export function subtract(a: readonly Span[], b: readonly Span[]): Span[] {
  if (a.length === 0 || b.length === 0) return a.map((s) => ({ ...s }));
  const first = a[0]!.from;
  const last = a[a.length - 1]!.to;
  return intersect(a, complement(union(b), first, last));
}

export function total(spans: readonly Span[]): number {
  let sum = 0;
  for (const s of spans) sum += s.to - s.from;
  return sum;
}
