import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';

/**
 * The store's placement epoch: a counter that triggers bump in every transaction changing what
 * placement reads (topology, allocation and resource states, host status, tags, ratios, pools,
 * dedications, hypervisor limits, settings; migration 0015). A placement index loaded at epoch E
 * is current while the stored epoch is still E.
 */
export async function readPlacementEpoch(db: Db): Promise<number> {
  const { rows } = await runStatement(db, placementEpochStatement, {});
  return Number(rows[0]?.epoch ?? 0);
}

const placementEpochStatement = statement('placement-epoch', (q, _p: Record<string, never>) =>
  q.selectFrom('placementEpoch').select('epoch').where('id', '=', 1),
);
