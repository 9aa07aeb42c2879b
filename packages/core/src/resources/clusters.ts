import type { CloudContext } from '../context.js';
import { InvalidParameterError, ResourceInUseError } from '../errors.js';
import { HYPERVISOR_TYPES, type HypervisorType } from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { Cluster } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import {
  ALLOCATION_STATES,
  type AllocationState,
  type ClusterManagedEvent,
  clusterManagedStateMachine,
} from '../model/state-machines/index.js';
import { requireOneOf, requireString } from '../model/validate.js';
import { SettingsService } from '../settings/settings-service.js';
import { decoder, json } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { requireRootAdmin } from './permissions.js';
import { podRepo } from './pods.js';
import { countLive, Repo } from './repo.js';
import { zoneRepo } from './zones.js';

export const clusterRepo = new Repo<Cluster>('clusters', 'Cluster', decoder<Cluster>({ json: ['details'] }));

/** A cluster to create in a pod: name, hypervisor type, allocation state, and its vCenter for VMware. */
export interface CreateClusterInput {
  podId: Ref;
  /** Free text for XenServer/KVM; for VMware the vCenter cluster's name. */
  name: string;
  hypervisorType: HypervisorType;
  allocationState?: AllocationState;
  /** VMware: the vCenter that manages the cluster. */
  vcenter?: { url: string; datacenter: string };
}

/**
 * Clusters (spec/resource-model.md §2.3): one hypervisor type for the cluster's life; name unique
 * in its pod; CPU and memory over-provisioning ratios copied from the global settings when the
 * cluster is created (later global changes do not move existing clusters).
 */
export class ClusterService {
  private readonly settings: SettingsService;

  constructor(private readonly ctx: CloudContext) {
    this.settings = new SettingsService(ctx);
  }

  async get(id: Ref): Promise<Cluster> {
    id = await clusterRepo.resolve(this.ctx.db, id);
    return clusterRepo.get(this.ctx.db, id);
  }

  /** Clusters by id, filtered, a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(filter: { zoneId?: Ref; podId?: Ref; hypervisorType?: HypervisorType } & ListOptions = {}): Promise<Cluster[]> {
    return clusterRepo.listFor(this.ctx, filter, { zoneId: zoneRepo, podId: podRepo });
  }

  create(input: CreateClusterInput): Promise<Cluster> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a cluster');
      const pod = await podRepo.get(w.db, input.podId, 'podId');
      const name = requireString('name', input.name, { max: 255 });
      const hypervisorType = requireOneOf('hypervisorType', input.hypervisorType, HYPERVISOR_TYPES);
      const details: Record<string, string> = {};
      if (hypervisorType === 'VMware') {
        if (!input.vcenter)
          throw new InvalidParameterError(
            'vcenter',
            input.vcenter,
            'a VMware cluster needs its vCenter url and datacenter',
          );
        details.url = requireString('vcenter.url', input.vcenter.url);
        details.datacenter = requireString('vcenter.datacenter', input.vcenter.datacenter);
      } else if (input.vcenter !== undefined) {
        throw new InvalidParameterError(
          'vcenter',
          input.vcenter,
          `only VMware clusters are managed through vCenter, not ${hypervisorType}`,
        );
      }
      if ((await clusterRepo.count(w.db, { podId: pod.id, name })) > 0) {
        throw new InvalidParameterError('name', name, `a cluster with this name already exists in pod ${pod.name}`);
      }
      const row = await w.db
        .insertInto('clusters')
        .values({
          uuid: newUuid(),
          name,
          podId: pod.id,
          zoneId: pod.zoneId,
          hypervisorType,
          clusterType: hypervisorType === 'VMware' ? 'ExternalManaged' : 'CloudManaged',
          allocationState: requireOneOf('allocationState', input.allocationState ?? 'Enabled', ALLOCATION_STATES),
          managedState: 'Managed',
          cpuOvercommitRatio: await this.settings.get('cpu.overprovisioning.factor', {}, w.db),
          memoryOvercommitRatio: await this.settings.get('mem.overprovisioning.factor', {}, w.db),
          details: json(details),
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const cluster = clusterRepo.decode(row);
      await w.event({
        type: 'CLUSTER.CREATE',
        description: `cluster ${name} (${hypervisorType}) created in pod ${pod.name}`,
        resourceType: 'Cluster',
        resourceId: cluster.id,
        resourceUuid: cluster.uuid,
      });
      return cluster;
    });
  }

  /** Name, allocation state and over-provisioning ratios may change; the hypervisor never does. */
  async update(
    id: Ref,
    patch: {
      name?: string;
      allocationState?: AllocationState;
      hypervisorType?: HypervisorType;
      cpuOvercommitRatio?: number;
      memoryOvercommitRatio?: number;
    },
  ): Promise<Cluster> {
    id = await clusterRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a cluster');
      const cluster = await clusterRepo.get(w.db, id);
      if (patch.hypervisorType !== undefined && patch.hypervisorType !== cluster.hypervisorType) {
        throw new InvalidParameterError(
          'hypervisorType',
          patch.hypervisorType,
          `a cluster has one hypervisor type for life (${cluster.hypervisorType})`,
        );
      }
      const set: Record<string, unknown> = {};
      if (patch.name !== undefined && patch.name !== cluster.name) {
        const name = requireString('name', patch.name, { max: 255 });
        if ((await clusterRepo.count(w.db, { podId: cluster.podId, name })) > 0) {
          throw new InvalidParameterError('name', name, 'a cluster with this name already exists in the pod');
        }
        set.name = name;
      }
      if (patch.allocationState !== undefined)
        set.allocationState = requireOneOf('allocationState', patch.allocationState, ALLOCATION_STATES);
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('clusters').set(set).where('id', '=', id).execute();
        await w.event({
          type: 'CLUSTER.UPDATE',
          description: `cluster ${cluster.name} updated`,
          resourceType: 'Cluster',
          resourceId: id,
          resourceUuid: cluster.uuid,
          parameters: { changed: Object.keys(set) },
        });
      }
      if (patch.cpuOvercommitRatio !== undefined)
        await this.settings.setIn(w, 'cpu.overprovisioning.factor', patch.cpuOvercommitRatio, { clusterId: id });
      if (patch.memoryOvercommitRatio !== undefined)
        await this.settings.setIn(w, 'mem.overprovisioning.factor', patch.memoryOvercommitRatio, { clusterId: id });
      return clusterRepo.get(w.db, id);
    });
  }

  /** Manage / unmanage (used around hypervisor upgrades; unmanaged clusters are left alone). */
  async setManaged(id: Ref, event: ClusterManagedEvent): Promise<Cluster> {
    id = await clusterRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'manage a cluster');
      const cluster = await clusterRepo.get(w.db, id);
      const to = clusterManagedStateMachine.transition(cluster.managedState, event);
      await w.db
        .updateTable('clusters')
        .set({ managedState: to })
        .where('id', '=', id)
        .where('managedState', '=', cluster.managedState)
        .execute();
      w.publish({
        type: 'CLUSTER.STATE.CHANGE',
        description: `cluster ${cluster.name}: ${cluster.managedState} --${event}--> ${to}`,
        resourceType: 'Cluster',
        resourceId: id,
        resourceUuid: cluster.uuid,
      });
      return clusterRepo.get(w.db, id);
    });
  }

  /** A cluster with hosts or primary storage cannot be deleted. */
  async delete(id: Ref): Promise<void> {
    id = await clusterRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a cluster');
      const cluster = await clusterRepo.get(w.db, id);
      for (const [table, what] of [
        ['hosts', 'host(s)'],
        ['storagePools', 'primary storage pool(s)'],
      ] as const) {
        const n = await countLive(w.db, table, { clusterId: id });
        if (n > 0)
          throw new ResourceInUseError(`cluster ${cluster.name} still has ${n} ${what}`, { field: 'id', value: id });
      }
      await clusterRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'CLUSTER.DELETE',
        description: `cluster ${cluster.name} deleted`,
        resourceType: 'Cluster',
        resourceId: id,
        resourceUuid: cluster.uuid,
      });
    });
  }
}
