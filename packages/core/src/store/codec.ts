/**
 * Turns a stored row into the record the API returns: 0/1 columns into booleans, JSON text into
 * values, epoch milliseconds into Dates. `created` and `removed` are always dates. The row is
 * converted in place and returned as the record: give it a row no one else holds (a query's
 * result row, or an object built for the call).
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
    const r = row as Record<string, unknown>;
    for (const k of bools) r[k] = r[k] === 1 || r[k] === true;
    for (const k of jsons) {
      const v = r[k];
      if (typeof v === 'string') r[k] = JSON.parse(v);
    }
    for (const k of dates) {
      const v = r[k];
      if (v !== undefined && v !== null && !(v instanceof Date)) r[k] = new Date(Number(v));
    }
    return r as Rec;
  };
}

/** Boolean to its stored form. */
export const bit = (value: boolean | undefined): number => (value ? 1 : 0);

/** Value to its stored JSON text. */
export const json = (value: unknown): string => JSON.stringify(value ?? null);
