/** A seedable random source in [0, 1) (pitfall 16: random strategies take an injected RNG). */
export type Rng = () => number;

/** mulberry32: small, fast, deterministic for a given seed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit seed derived from a seed and a key (murmur3's finaliser over both): independent
 * streams per key, e.g. one per cluster within one placement decision.
 */
export function deriveSeed(seed: number, key: number): number {
  let h = (seed ^ Math.imul(key >>> 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Fisher–Yates shuffle in place, front to back: position `i` is drawn uniformly from the items not
 * yet placed. Drawing only the first k positions ({@link drawAt}) gives the first k items of the
 * same permutation.
 */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = 0; i < items.length - 1; i++) drawAt(items, i, rng);
  return items;
}

/** One step of {@link shuffle}: moves a uniformly chosen item of `items[i..]` to `i` and returns it. */
export function drawAt<T>(items: T[], i: number, rng: Rng): T {
  const j = i + Math.floor(rng() * (items.length - i));
  const t = items[j] as T;
  items[j] = items[i] as T;
  items[i] = t;
  return t;
}
