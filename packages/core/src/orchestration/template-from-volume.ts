import type { CloudContext } from '../context.js';
import { InvalidStateError, ResourceUnavailableError } from '../errors.js';
import { requireAccess } from '../resources/permissions.js';
import { diskFormatOf } from './disk-format.js';
import type { JobService, SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import {
  firstImageStore,
  insertPrivateTemplate,
  type PrivateTemplateInput,
  requireTemplateName,
  writePrivateTemplate,
} from './private-template.js';
import { poolRef, storeRef } from './storage-refs.js';
import { getVm } from './vm-row.js';
import { getVolume } from './volume-record.js';

/**
 * CloudStack's `createTemplate` from a volume: a private template (owned by the caller, in the volume's zone) written
 * to the zone's image store by the driver (`createTemplateFromVolume`, run on a host that reaches the volume's pool),
 * as a job (`TEMPLATE.CREATE`). The volume must be Ready on a pool, ROOT or DATADISK, and its VM (if any) Stopped;
 * bad input is refused before anything is written, and a driver failure removes the template record again.
 */
export async function createTemplateFromVolume(
  ctx: CloudContext,
  jobs: JobService,
  volumeId: number,
  input: PrivateTemplateInput,
): Promise<SubmittedJob<{ templateId: number }>> {
  const volume = await getVolume(ctx.db, volumeId);
  await requireAccess(ctx.db, ctx.caller, volume, 'create a template from a volume');
  requireTemplateName(input);
  if (volume.state !== 'Ready' || volume.poolId === null)
    throw new InvalidStateError(`volume ${volume.name} is ${volume.state}; a Ready volume on a pool is required`, {
      field: 'volumeId',
      value: volumeId,
    });
  if (volume.instanceId !== null) {
    const vm = await getVm(ctx.db, volume.instanceId);
    if (vm.state !== 'Stopped')
      throw new InvalidStateError(
        `VM ${vm.instanceName} is ${vm.state}; stop it before making a template of its volume`,
        {
          field: 'volumeId',
          value: volumeId,
        },
      );
  }
  const store = await firstImageStore(ctx.db, volume.zoneId, 'volumeId', volumeId);
  const poolId = Number(volume.poolId);
  return jobs.submit(
    {
      cmd: 'createTemplate',
      info: { volumeId, name: input.name },
      instance: { type: 'Volume', id: volume.id, uuid: volume.uuid },
      eventType: 'TEMPLATE.CREATE',
      description: `template ${input.name} from volume ${volume.name}`,
    },
    async (job) => {
      const [host] = await hostsReaching(ctx.db, poolId);
      if (host === undefined)
        throw new ResourceUnavailableError(`no Up host reaches the pool of volume ${volume.name}`, {
          field: 'volumeId',
          value: volumeId,
        });
      const pool = await getPoolRow(ctx.db, poolId);
      const format = diskFormatOf(volume.format, host.hypervisorType);
      const caller = ctx.caller;
      const template = await ctx.write((w) =>
        insertPrivateTemplate(w, input, {
          zoneId: volume.zoneId,
          storeId: Number(store.id),
          hypervisorType: host.hypervisorType,
          format,
          caller,
        }),
      );
      return writePrivateTemplate(
        ctx,
        template,
        { name: input.name, description: `volume ${volume.name}`, parameters: { volumeId } },
        () =>
          ctx.drivers
            .hypervisor(host.hypervisorType)
            .createTemplateFromVolume(
              host.ref,
              { uuid: volume.uuid, pool: poolRef(pool), ...(volume.path ? { path: volume.path } : {}) },
              { uuid: template.uuid, name: requireTemplateName(input), store: storeRef(store), format },
              { signal: job.signal },
            ),
      );
    },
  );
}
