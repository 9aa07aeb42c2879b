/**
 * Turns a stored row into the record the API returns: 0/1 columns into booleans, JSON text into
 * values, epoch milliseconds into Dates. `created` and `removed` are always dates.
 */
export function decoder<Rec>(columns: {
  bool?: readonly string[];
  json?: readonly string[];
  date?: readonly string[];
}) {
  const bools = columns.bool ?? [];
  const jsons = columns.json ?? [];
  const dates = ['created', 'removed', ...(columns.date ?? [])];
  return (row: object): Rec => {
    const src = row as Record<string, unknown>;
    const out: Record<string, unknown> = { ...src };
    for (const k of bools) out[k] = src[k] === 1 || src[k] === true;
    for (const k of jsons) {
      const v = src[k];
      out[k] = typeof v === 'string' ? JSON.parse(v) : v;
    }
    for (const k of dates) {
      const v = src[k];
      if (v !== undefined) out[k] = v === null ? null : new Date(Number(v));
    }
    return out as Rec;
  };
}

/** Boolean to its stored form. */
export const bit = (value: boolean | undefined): number => (value ? 1 : 0);

/** Value to its stored JSON text. */
export const json = (value: unknown): string => JSON.stringify(value ?? null);
