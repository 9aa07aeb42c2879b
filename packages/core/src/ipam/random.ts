/** A source of uniform numbers in [0, 1), like Math.random; tests inject a seeded one. */
export type RandomSource = () => number;

/** A small, fast, seedable generator (mulberry32) for deterministic allocation orders in tests. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether a pool hands out the lowest free entry or a random free one (spec/networking.md §4.10). */
export type PickStrategy = 'sequential' | 'random';
