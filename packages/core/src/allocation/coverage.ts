import type { ExcludeList } from './exclude-list.js';

/** A breach of the coverage contract found by {@link checkCoverage}. */
export interface CoverageViolation {
  id: number;
  problem: 'neither returned nor avoided' | 'both returned and avoided' | 'returned but not a candidate';
}

/**
 * The coverage rule (spec/allocation.md §11.1): for candidate set C, returned R and avoid delta A,
 * `R ∪ A = C` and `R ∩ A = ∅`. `avoidedAfter` is the avoid set after the call, `avoidedBefore` its
 * ids before (entries present before the call are not part of A).
 */
export function checkCoverage(
  candidates: Iterable<number>,
  returned: Iterable<number>,
  avoidedBefore: ReadonlySet<number>,
  avoidedAfter: ExcludeList,
  level: 'hosts' | 'pools',
): CoverageViolation[] {
  const r = new Set(returned);
  const c = new Set(candidates);
  const out: CoverageViolation[] = [];
  for (const id of c) {
    const inA = avoidedAfter[level].has(id) && !avoidedBefore.has(id);
    const inR = r.has(id);
    if (!inA && !inR && !avoidedBefore.has(id)) out.push({ id, problem: 'neither returned nor avoided' });
    if (inA && inR) out.push({ id, problem: 'both returned and avoided' });
  }
  for (const id of r) if (!c.has(id)) out.push({ id, problem: 'returned but not a candidate' });
  return out;
}
