import type { Request, Size } from './request-queue.js';
import type { Tier } from './tier-allocator.js';

/** What one tenant asks for in a burst: VMs of a size, or the retirement of named VMs. */
export type Ask = { tenant: string; size: Size; names: string[] } | { tenant: string; retire: string[] };

/** Yesterday: umbrella's two legacy VMs, already running when the burst arrives. */
export const YESTERDAY: Ask[] = [
  { tenant: 'umbrella', size: 'large', names: ['umbrella-legacy-1', 'umbrella-legacy-2'] },
];

/**
 * This morning's burst: acme wants three large VMs though only two premium hosts exist (one per
 * host), and one size no host can run; umbrella's new VMs fit only once its legacy VMs are retired
 * (queued behind them at housekeeping priority); globex scales out (one name is not a valid host
 * name); initech's trial asks for one VM more than its quota.
 */
export const MORNING_BURST: Ask[] = [
  { tenant: 'acme', size: 'large', names: series('acme-web', 3) },
  { tenant: 'umbrella', size: 'large', names: series('umbrella-api', 2) },
  { tenant: 'globex', size: 'small', names: [...series('globex-worker', 6), 'globex_batch'] },
  { tenant: 'globex', size: 'medium', names: series('globex-cache', 3) },
  { tenant: 'initech', size: 'small', names: series('initech-trial', 3) },
  { tenant: 'acme', size: 'xlarge', names: ['acme-warehouse'] },
  { tenant: 'umbrella', retire: ['umbrella-legacy-1', 'umbrella-legacy-2'] },
];

/**
 * Turns asks into requests as they would arrive: one from each ask in turn (so the queue, not the
 * arrival order, decides what runs first). Priority: premium deployments 2, standard 1,
 * retirements 0 (housekeeping).
 */
export function requestsOf(asks: readonly Ask[], tierOf: (tenant: string) => Tier, firstId = 1): Request[] {
  const streams: Request[][] = asks.map((ask) =>
    'retire' in ask
      ? ask.retire.map((name) => ({ kind: 'retire', id: 0, tenant: ask.tenant, name, priority: 0 }))
      : ask.names.map((name) => {
          const priority = tierOf(ask.tenant) === 'premium' ? 2 : 1;
          return { kind: 'deploy', id: 0, tenant: ask.tenant, name, size: ask.size, priority };
        }),
  );
  const total = streams.reduce((n, stream) => n + stream.length, 0);
  const out: Request[] = [];
  for (let i = 0; out.length < total; i++) {
    for (const stream of streams) {
      const request = stream[i];
      if (request) out.push({ ...request, id: firstId + out.length });
    }
  }
  return out;
}

function series(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
}
