import type { CloudContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import type { HypervisorCapability } from '../model/records.js';
import { requireInteger } from '../model/validate.js';
import type { Db } from '../store/store.js';
import { requireRootAdmin } from './permissions.js';

const decode = (row: object): HypervisorCapability => row as HypervisorCapability;

/**
 * Hypervisor capabilities: max hosts per cluster, max guests per host, max data volumes, stored
 * per (hypervisor, version) as editable rows; version `default` is the fallback.
 */
export class HypervisorCapabilityService {
  constructor(private readonly ctx: CloudContext) {}

  list(): Promise<HypervisorCapability[]> {
    return this.ctx.db
      .selectFrom('hypervisorCapabilities')
      .selectAll()
      .orderBy('id')
      .execute()
      .then((rows) => rows.map(decode));
  }

  /** The row for this hypervisor and version, else its `default` row. */
  get(hypervisorType: string, version?: string | null, db: Db = this.ctx.db): Promise<HypervisorCapability> {
    return capabilityFor(db, hypervisorType, version);
  }

  /** Creates or edits the row for (hypervisor, version). */
  set(
    hypervisorType: string,
    version: string,
    values: { maxHostsPerCluster?: number; maxGuestsLimit?: number | null; maxDataVolumesLimit?: number },
  ): Promise<HypervisorCapability> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'edit hypervisor capabilities');
      const base = await capabilityFor(w.db, hypervisorType, version);
      const row = {
        hypervisorType,
        hypervisorVersion: version,
        maxHostsPerCluster:
          values.maxHostsPerCluster === undefined
            ? base.maxHostsPerCluster
            : requireInteger('maxHostsPerCluster', values.maxHostsPerCluster, { min: 1 }),
        maxGuestsLimit:
          values.maxGuestsLimit === undefined
            ? base.maxGuestsLimit
            : values.maxGuestsLimit === null
              ? null
              : requireInteger('maxGuestsLimit', values.maxGuestsLimit, { min: 1 }),
        maxDataVolumesLimit:
          values.maxDataVolumesLimit === undefined
            ? base.maxDataVolumesLimit
            : requireInteger('maxDataVolumesLimit', values.maxDataVolumesLimit, { min: 0 }),
      };
      await w.db
        .insertInto('hypervisorCapabilities')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['hypervisorType', 'hypervisorVersion']).doUpdateSet({
            maxHostsPerCluster: row.maxHostsPerCluster,
            maxGuestsLimit: row.maxGuestsLimit,
            maxDataVolumesLimit: row.maxDataVolumesLimit,
          }),
        )
        .execute();
      await w.event({
        type: 'HYPERVISOR.CAPABILITIES.UPDATE',
        description: `capabilities of ${hypervisorType} ${version} updated`,
        resourceType: 'HypervisorCapability',
        parameters: row,
      });
      return capabilityFor(w.db, hypervisorType, version);
    });
  }
}

export async function capabilityFor(
  db: Db,
  hypervisorType: string,
  version?: string | null,
): Promise<HypervisorCapability> {
  const rows = await db
    .selectFrom('hypervisorCapabilities')
    .selectAll()
    .where('hypervisorType', '=', hypervisorType)
    .where('hypervisorVersion', 'in', version ? [version, 'default'] : ['default'])
    .execute();
  const row = rows.find((r) => r.hypervisorVersion === version) ?? rows.find((r) => r.hypervisorVersion === 'default');
  if (!row) throw new NotFoundError('HypervisorCapability', 'hypervisorType', hypervisorType);
  return decode(row);
}
