// Lines for paths: validation works on plain values, so each problem's path is looked up again in
// the parsed YAML document to find where the user wrote that key.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Pair } from 'yaml';
import type { PathSegment } from './diagnostics.js';

type Located = { range?: readonly number[] | null | undefined };

function startOf(node: unknown): number | undefined {
  const range = (node as Located | null | undefined)?.range;
  return range?.[0];
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

export class Positions {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** 1-based line of an offset in the text. */
  lineAt(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  /**
   * The line of the deepest part of `path` that exists in the document: the key itself when it is
   * there, else the mapping or list that lacks it (a missing key is reported where it belongs).
   */
  lineOf(path: readonly PathSegment[]): number | undefined {
    let node: unknown = this.doc.contents;
    let at = startOf(node);
    for (const seg of path) {
      node = this.deref(node);
      if (isMap(node)) {
        const pair = this.findPair(node.items, seg, 0);
        if (pair === undefined) break;
        at = startOf(pair.key) ?? startOf(pair.value) ?? at;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item: unknown = node.items[seg];
        if (item === undefined) break;
        at = startOf(item) ?? at;
        node = item;
      } else {
        break;
      }
    }
    return at === undefined ? undefined : this.lineAt(at);
  }

  /** The path of the innermost key or list item whose text contains `offset` (for YAML errors). */
  pathAt(offset: number): PathSegment[] {
    const path: PathSegment[] = [];
    let node: unknown = this.doc.contents;
    // Bounded: a path deeper than any real configuration only makes the message unreadable.
    for (let depth = 0; depth < 64; depth++) {
      let next: unknown;
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = keyOf(pair);
          if (typeof key === 'symbol' || (key !== null && typeof key === 'object')) continue;
          if (contains(pair.key, offset)) {
            path.push(String(key));
            return path;
          }
          if (contains(pair.value, offset)) {
            path.push(String(key));
            next = pair.value;
            break;
          }
        }
      } else if (isSeq(node)) {
        const i = node.items.findIndex((item) => contains(item, offset));
        if (i >= 0) {
          path.push(i);
          next = node.items[i];
        }
      }
      if (next === undefined) break;
      node = next;
    }
    return path;
  }

  private deref(node: unknown): unknown {
    // An alias points at its anchor: the problem lies in the text the anchor marks.
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** The pair for `key`, looking through `<<` merge keys as YAML 1.1 merges do. */
  private findPair(items: readonly unknown[], key: PathSegment, depth: number): Pair | undefined {
    const want = String(key);
    for (const item of items) {
      if (isPair(item) && typeof keyOf(item) !== 'symbol' && String(keyOf(item)) === want) return item;
    }
    if (depth > 8) return undefined;
    for (const item of items) {
      if (!isPair(item) || typeof keyOf(item) !== 'symbol') continue;
      const sources = isSeq(item.value) ? item.value.items : [item.value];
      for (const src of sources) {
        const map = this.deref(src);
        if (!isMap(map)) continue;
        const found = this.findPair(map.items, key, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
}

function contains(node: unknown, offset: number): boolean {
  const range = (node as Located | null | undefined)?.range;
  // range[1] is the end of the value; range[2] includes trailing comments, which belong to no key.
  return range !== undefined && range !== null && range.length >= 2 && offset >= (range[0] ?? 0) && offset < (range[1] ?? 0);
}
