import { FreeBitmap } from './free-bitmap.js';
import type { PickStrategy, RandomSource } from './random.js';

/**
 * The in-memory free/taken view of one address range `start..end` (unsigned 32-bit integers):
 * a {@link FreeBitmap} with the range's never-allocatable addresses pre-marked. It is a cache
 * of the store, never the authority: the store's unique index decides, and a stale index only
 * costs a retry (an address someone else took) or a rebuild (an address someone else freed).
 */
export class AddressIndex {
  readonly start: number;
  readonly end: number;
  /** Addresses that can ever be handed out: the range minus its excluded addresses. */
  readonly allocatable: number;
  private readonly bitmap: FreeBitmap;
  private readonly excluded: ReadonlySet<number>;

  constructor(start: number, end: number, excluded: readonly number[] = []) {
    this.start = start;
    this.end = end;
    this.bitmap = new FreeBitmap(end - start + 1);
    const inside = excluded.filter((a) => a >= start && a <= end);
    this.excluded = new Set(inside);
    for (const a of this.excluded) this.bitmap.take(a - start);
    this.allocatable = this.bitmap.size - this.excluded.size;
  }

  /** Addresses currently allocated (excluded addresses are not counted). */
  get allocated(): number {
    return this.bitmap.taken - this.excluded.size;
  }

  get free(): number {
    return this.bitmap.free;
  }

  contains(address: number): boolean {
    return address >= this.start && address <= this.end;
  }

  isExcluded(address: number): boolean {
    return this.excluded.has(address);
  }

  isTaken(address: number): boolean {
    return this.bitmap.isTaken(address - this.start);
  }

  /** Marks an address allocated; false when it was already taken or excluded. */
  take(address: number): boolean {
    return this.bitmap.take(address - this.start);
  }

  /** Marks an address free again; excluded addresses stay taken. */
  release(address: number): boolean {
    if (this.excluded.has(address)) return false;
    return this.bitmap.release(address - this.start);
  }

  /** A free address by the strategy, or -1 when the index has none. Does not take it. */
  pick(strategy: PickStrategy, random: RandomSource): number {
    const slot =
      strategy === 'sequential'
        ? this.bitmap.nextFree(0)
        : this.bitmap.nextFreeWrapping(Math.floor(random() * this.bitmap.size));
    return slot < 0 ? -1 : this.start + slot;
  }
}
