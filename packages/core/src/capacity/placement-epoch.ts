import { executeCached } from '../store/compiled-queries.js';
import type { Db } from '../store/store.js';

/**
 * The store's placement epoch: a counter that triggers bump in every transaction changing what
 * placement reads (topology, allocation and resource states, host status, tags, ratios, pools,
 * dedications, hypervisor limits, settings; migration 0015). A placement index loaded at epoch E
 * is current while the stored epoch is still E.
 */
export async function readPlacementEpoch(db: Db): Promise<number> {
  const { rows } = await executeCached<{ epoch: unknown }>(db, 'placement-epoch', [1], (q) =>
    q.selectFrom('placementEpoch').select('epoch').where('id', '=', 1),
  );
  return Number(rows[0]?.epoch ?? 0);
}
