/**
 * The fake's object store: records by class and ref, each change an event (`add`/`mod`/`del`) in a bounded log that
 * `event.from` reads from a token. Refs are `OpaqueRef:<uuid>`; an unknown ref is `HANDLE_INVALID [class, ref]`.
 */
import { randomUUID } from 'node:crypto';
import { XapiFailure } from './xapi-failure.js';
import { type ClassSpec, defaultValue, findClass, XAPI_CLASSES } from './xapi-schema.js';

/** A stored record: field → plain value (ints and floats as numbers, datetimes as epoch ms). */
export type XapiRecord = Record<string, unknown>;

/** One entry of the event log. */
export interface XapiEvent {
  id: number;
  timestamp: number;
  class: string;
  operation: 'add' | 'mod' | 'del';
  ref: string;
  snapshot?: XapiRecord;
}

/** The null ref. */
export const NULL_REF = 'OpaqueRef:NULL';

/** Classes and records, with an event log. */
export class XapiDatabase {
  private readonly tables = new Map<string, Map<string, XapiRecord>>();
  private events: XapiEvent[] = [];
  private nextEventId = 1;
  /** Event ids below this are gone (`EVENTS_LOST` for a token older than it). */
  private oldestKept = 1;
  private waiters: Array<() => void> = [];
  /** The bytes of each VDI written through `/import_raw_vdi` (and carried over by clone, copy and snapshot). */
  readonly contents = new Map<string, Buffer>();

  constructor(private readonly maxEvents = 10_000) {
    for (const name of Object.keys(XAPI_CLASSES)) this.tables.set(name, new Map());
  }

  /** The class spec; `MESSAGE_METHOD_UNKNOWN` style failures are the caller's. */
  spec(className: string): ClassSpec {
    const spec = findClass(className);
    if (!spec) throw new XapiFailure('CLASS_UNKNOWN', className);
    return spec;
  }

  private table(className: string): Map<string, XapiRecord> {
    return this.tables.get(this.spec(className).name)!;
  }

  /** A new record with every field at its default, overlaid with `fields`; returns its ref. */
  insert(className: string, fields: XapiRecord): string {
    const spec = this.spec(className);
    const record: XapiRecord = {};
    for (const [name, field] of Object.entries(spec.fields)) record[name] = structuredClone(defaultValue(field.type));
    Object.assign(record, structuredClone(fields));
    if (!record.uuid) record.uuid = randomUUID();
    const ref = `OpaqueRef:${randomUUID()}`;
    this.table(spec.name).set(ref, record);
    this.emit(spec.name, 'add', ref, record);
    return ref;
  }

  /** The record (live object; change it through {@link update}). */
  get(className: string, ref: string): XapiRecord {
    const record = this.find(className, ref);
    if (!record) throw new XapiFailure('HANDLE_INVALID', this.spec(className).name, ref);
    return record;
  }

  /** The record, or undefined. */
  find(className: string, ref: string): XapiRecord | undefined {
    return this.table(className).get(ref);
  }

  /** Whether `ref` is a live record of the class. */
  has(className: string, ref: unknown): boolean {
    return typeof ref === 'string' && this.table(className).has(ref);
  }

  /** Change fields of a record (one `mod` event). */
  update(className: string, ref: string, fields: XapiRecord): XapiRecord {
    const record = this.get(className, ref);
    Object.assign(record, fields);
    this.emit(this.spec(className).name, 'mod', ref, record);
    return record;
  }

  /** Remove a record (one `del` event). */
  remove(className: string, ref: string): void {
    const name = this.spec(className).name;
    const record = this.get(name, ref);
    this.table(name).delete(ref);
    this.emit(name, 'del', ref, record);
  }

  /** Every record of a class. */
  all(className: string): Array<[string, XapiRecord]> {
    return [...this.table(className).entries()];
  }

  /** Records of a class whose fields match. */
  where(className: string, predicate: (record: XapiRecord) => boolean): Array<[string, XapiRecord]> {
    return this.all(className).filter(([, r]) => predicate(r));
  }

  /** The ref of the record with this uuid, or `UUID_INVALID [class, uuid]`. */
  byUuid(className: string, uuid: string): string {
    const hit = this.all(className).find(([, r]) => r.uuid === uuid);
    if (!hit) throw new XapiFailure('UUID_INVALID', this.spec(className).name, uuid);
    return hit[0];
  }

  /** Add `value` to a set field (no duplicates). */
  addToSet(className: string, ref: string, field: string, value: string): void {
    const record = this.find(className, ref);
    if (!record) return;
    const set = record[field] as string[];
    if (!set.includes(value)) this.update(className, ref, { [field]: [...set, value] });
  }

  /** Remove `value` from a set field. */
  removeFromSet(className: string, ref: string, field: string, value: string): void {
    const record = this.find(className, ref);
    if (!record) return;
    const set = record[field] as string[];
    if (set.includes(value)) this.update(className, ref, { [field]: set.filter((v) => v !== value) });
  }

  /** Per-class live record counts (`valid_ref_counts` of `event.from`), lower-case class names as XAPI sends. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, table] of this.tables) out[name.toLowerCase()] = table.size;
    return out;
  }

  // ── events ─────────────────────────────────────────────────────────────────────────────────────────────

  private emit(className: string, operation: XapiEvent['operation'], ref: string, record: XapiRecord): void {
    this.events.push({
      id: this.nextEventId++,
      timestamp: Date.now(),
      class: className.toLowerCase(),
      operation,
      ref,
      snapshot: structuredClone(record),
    });
    if (this.events.length > this.maxEvents) {
      const drop = this.events.length - this.maxEvents;
      this.events.splice(0, drop);
      this.oldestKept = this.events[0]!.id;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** A `mod` event for an object with no change (`event.inject`); returns its token. */
  inject(className: string, ref: string): string {
    this.emit(this.spec(className).name, 'mod', ref, this.get(className, ref));
    return this.token();
  }

  /** The token for "now": events after it are new. */
  token(): string {
    return formatToken(this.nextEventId - 1);
  }

  /** Forget every logged event: a token from before now is `EVENTS_LOST` (fault injection). */
  loseEvents(): void {
    this.events = [];
    this.oldestKept = this.nextEventId;
  }

  /** Events after `token` (parsed), or `EVENTS_LOST` when some of them were dropped. */
  eventsAfter(after: number): XapiEvent[] {
    if (after + 1 < this.oldestKept) throw new XapiFailure('EVENTS_LOST');
    return this.events.filter((e) => e.id > after);
  }

  /** Wakes every `event.from` waiting for an event (the fake is stopping). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves on the next event or after `ms`, whichever is first. */
  waitForEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  /** A deep copy of every record, by class then ref (the fake's state dump). */
  dump(): Record<string, Record<string, XapiRecord>> {
    const out: Record<string, Record<string, XapiRecord>> = {};
    for (const [name, table] of this.tables) out[name] = structuredClone(Object.fromEntries(table));
    return out;
  }
}

/** XAPI event tokens look like `00000000000000000042,00000000000000000000`. */
export function formatToken(id: number): string {
  return `${String(id).padStart(20, '0')},${'0'.repeat(20)}`;
}

/** The event id in a token; `''` is "from the beginning" (-1). */
export function parseToken(token: string): number {
  if (token === '') return -1;
  const m = /^(\d+)(,\d+)?$/.exec(token);
  if (!m) throw new XapiFailure('EVENT_FROM_TOKEN_PARSE_FAILURE', token);
  return Number(m[1]);
}
