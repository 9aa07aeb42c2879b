/**
 * A hierarchical bitmap over `size` slots (bit set = taken) that finds the lowest free slot at or
 * after any position in O(log32 size) word operations: level 0 holds one bit per slot, level k+1
 * one bit per level-k word, set when that word is full. A /8 (16.7M slots) is four levels and
 * 2 MiB; finding, taking and freeing touch at most one word per level, so allocation is O(1)
 * amortised for every practical range size.
 */
export class FreeBitmap {
  readonly size: number;
  private readonly levels: Uint32Array[];
  private takenCount = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0 || size > 2 ** 32) throw new RangeError(`bitmap size ${size}`);
    this.size = size;
    this.levels = [];
    let bits = Math.max(size, 1);
    for (;;) {
      const words = Math.ceil(bits / 32);
      const level = new Uint32Array(words);
      // Bits past the end are permanently "taken" so they are never found.
      const tail = bits % 32;
      if (tail !== 0) level[words - 1] = ~((1 << tail) - 1) >>> 0;
      this.levels.push(level);
      if (words === 1) break;
      bits = words;
    }
    if (size === 0) this.setBit(0, 0);
    // A tail word that is full after padding must be reflected upwards.
    for (let l = 0; l + 1 < this.levels.length; l++) {
      const level = this.levels[l]!;
      const last = level.length - 1;
      if (level[last] === 0xffffffff) this.setBit(l + 1, last);
    }
  }

  /** Slots currently taken. */
  get taken(): number {
    return this.takenCount;
  }

  /** Slots currently free. */
  get free(): number {
    return this.size - this.takenCount;
  }

  isTaken(slot: number): boolean {
    return ((this.levels[0]![slot >>> 5]! >>> (slot & 31)) & 1) === 1;
  }

  /** Marks a slot taken; returns false when it already was. */
  take(slot: number): boolean {
    this.check(slot);
    if (this.isTaken(slot)) return false;
    this.setBit(0, slot);
    this.takenCount++;
    return true;
  }

  /** Marks a slot free; returns false when it already was. */
  release(slot: number): boolean {
    this.check(slot);
    if (!this.isTaken(slot)) return false;
    this.clearBit(0, slot);
    this.takenCount--;
    return true;
  }

  /** The lowest free slot ≥ `from`, or -1. */
  nextFree(from = 0): number {
    if (from >= this.size) return -1;
    return this.nextZero(0, Math.max(0, from));
  }

  /** The lowest free slot ≥ `from`, wrapping around to 0; -1 when everything is taken. */
  nextFreeWrapping(from: number): number {
    const found = this.nextFree(from);
    return found >= 0 || from === 0 ? found : this.nextFree(0);
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.size)
      throw new RangeError(`slot ${slot} outside 0..${this.size - 1}`);
  }

  private nextZero(level: number, index: number): number {
    const words = this.levels[level]!;
    const w = index >>> 5;
    if (w >= words.length) return -1;
    const word = (words[w]! | ((1 << (index & 31)) - 1)) >>> 0;
    if (word !== 0xffffffff) return (w << 5) + ctz(~word >>> 0);
    if (level + 1 >= this.levels.length) return -1;
    const next = this.nextZero(level + 1, w + 1);
    if (next < 0) return -1;
    return (next << 5) + ctz(~words[next]! >>> 0);
  }

  private setBit(level: number, index: number): void {
    for (let l = level, i = index; l < this.levels.length; l++) {
      const words = this.levels[l]!;
      const w = i >>> 5;
      words[w] = (words[w]! | (1 << (i & 31))) >>> 0;
      if (words[w] !== 0xffffffff) return;
      i = w;
    }
  }

  private clearBit(level: number, index: number): void {
    for (let l = level, i = index; l < this.levels.length; l++) {
      const words = this.levels[l]!;
      const w = i >>> 5;
      const wasFull = words[w] === 0xffffffff;
      words[w] = (words[w]! & ~(1 << (i & 31))) >>> 0;
      if (!wasFull) return;
      i = w;
    }
  }
}

/** Count of trailing zero bits of a non-zero 32-bit value. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}
