/**
 * A reference to a record as a caller names it: its numeric `id` or its `uuid` (the stable
 * external id). Every public service method takes a `Ref` wherever it takes an id and resolves it
 * once, at its entry, to the numeric id the store's foreign keys use.
 */
export type Ref = number | string;

/** The canonical text form of a uuid (any version), as `newUuid()` writes them. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a uuid in its canonical text form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Whether `T` is exactly a reference (with or without `undefined`/`null`), not any string or number. */
type IsRef<T> = [Ref] extends [Exclude<T, undefined | null>]
  ? [Exclude<T, undefined | null>] extends [Ref]
    ? true
    : false
  : false;

/**
 * `T` with every {@link Ref} property (and every `Ref[]`) resolved to the numeric id: what a
 * service works with after resolving an input at its entry.
 */
export type Resolved<T> = {
  [K in keyof T]: IsRef<T[K]> extends true
    ? Exclude<T[K], string>
    : T[K] extends readonly Ref[] | undefined | null
      ? IsRef<NonNullable<T[K]>[number]> extends true
        ? number[] | Exclude<T[K], readonly Ref[]>
        : T[K]
      : T[K];
};
