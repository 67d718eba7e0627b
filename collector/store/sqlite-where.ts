// A WHERE clause from the filters a query was given: each condition counts only when its value is.
export type Bindable = string | number;

/** `[sql with one ?, value]` pairs; those whose value is undefined are left out. */
export function where(conditions: readonly (readonly [string, Bindable | undefined])[]): { sql: string; params: Bindable[] } {
  const parts: string[] = [];
  const params: Bindable[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    parts.push(sql);
    params.push(value);
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}
