import type { Writer } from '../context.js';
import { InvalidParameterError, InvalidStateError, NotFoundError } from '../errors.js';
import { guestRangesOf } from '../ipam/ip-allocator.js';
import type { IpRange } from '../ipam/records.js';
import type { ListOptions } from '../model/list-options.js';
import type { Zone } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { type NicEvent, nicStateMachine } from '../model/state-machines/nic.js';
import { listPaging } from '../resources/list-paging.js';
import { podRepo } from '../resources/pods.js';
import { resolveOptionalRef, resolveRefs } from '../resources/ref-resolution.js';
import { vmRefs } from '../resources/ref-tables.js';
import { insertRow } from '../store/insert-row.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { GuestNetworkLifecycle } from './guest-network-lifecycle.js';
import type { NicProfile } from './network-element.js';
import { type Network, type NetworkOffering, type Nic, networkOfferingRepo, networkRepo, nicRepo } from './records.js';

/** A NIC to allocate for a VM on a guest network (an explicit IP address optional). */
export interface AllocateNicInput {
  vmId: number;
  networkId: number;
  /** Exactly one default NIC per VM. */
  isDefault: boolean;
  deviceId?: number;
  /** A requested guest address. */
  ip?: string;
  /**
   * The VM's live record when the caller holds it (the deploy transaction that just wrote it);
   * it must be the VM `vmId` names. Without it the VM is read.
   */
  vm?: { id: number; zoneId: number; accountId: number; hostName: string };
  /** The network's live record when the caller holds it; it must be the network `networkId` names. */
  network?: Network;
  /** The VM's live NICs when the caller knows them (none: the deploy transaction that created the VM). */
  vmNics?: readonly Nic[];
}

/**
 * A VM's NICs on guest networks: allocated at deploy, reserved at VM start (implementing the network
 * first when needed), prepared on and released from the network elements, deallocated at expunge. A layer
 * of {@link GuestNetworkService}.
 */
export class GuestNicOperations extends GuestNetworkLifecycle {
  // ---- NICs ----

  /**
   * `guru.allocate`: a NIC of a VM on a network, in the caller's transaction. MAC from the zone's
   * pool; on a CIDR network the guest address is taken now (a requested one validated), on a
   * per-pod network (basic zones) at reserve, after placement (§4.3).
   */
  async allocateNic(w: Writer, input: AllocateNicInput): Promise<Nic> {
    const vm = input.vm?.id === input.vmId ? input.vm : await this.liveVm(w.db, input.vmId);
    const net =
      input.network?.id === input.networkId ? input.network : await networkRepo.get(w.db, input.networkId, 'networkId');
    if (net.zoneId !== Number(vm.zoneId))
      throw new InvalidParameterError('networkId', input.networkId, `network ${net.name} is not in the VM's zone`);
    if (net.aclType === 'Account' && net.accountId !== Number(vm.accountId))
      throw new InvalidParameterError('networkId', input.networkId, `network ${net.name} belongs to another account`);
    const vmNics = input.vmNics ?? (await nicRepo.list(w.db, { instanceId: input.vmId }));
    if (vmNics.some((n) => n.networkId === net.id))
      throw new InvalidParameterError('networkId', input.networkId, `the VM already has a NIC on network ${net.name}`);
    if (input.isDefault && vmNics.some((n) => n.isDefault))
      throw new InvalidParameterError('isDefault', true, 'the VM already has a default NIC (exactly one per VM)');
    const { rows: sameName } = await runStatement(w.db, vmHostNameOnNetwork, {
      hostName: vm.hostName,
      networkId: net.id,
    });
    if (sameName.length > 0)
      throw new InvalidParameterError('hostName', vm.hostName, `host name already used on network ${net.name}`);
    const mac = await this.deps.macs.allocate(w, { zoneId: net.zoneId, ownerType: 'Nic' });
    const values = {
      uuid: newUuid(),
      created: w.now,
      removed: null,
      instanceId: input.vmId,
      networkId: net.id,
      deviceId: input.deviceId ?? vmNics.length,
      ip4Address: null,
      ipAllocationId: null,
      netmask: net.netmask,
      gateway: net.gateway,
      macAddress: mac,
      isDefault: input.isDefault ? 1 : 0,
      broadcastUri: null,
      isolationUri: null,
      mode: net.guestType === 'Shared' ? 'Static' : 'Dhcp',
      reservationStrategy: 'Start',
      reserver: null,
      reservationId: null,
      state: 'Allocated',
      updatedCount: 0,
    };
    const { id } = await insertRow<'nics', { id: number }>(w.db, 'nics', values, ['id']);
    // The row as this transaction wrote it (every column but the id given; no RETURNING *).
    const nic = nicRepo.decode({ id: Number(id), ...values });
    const ranges = await guestRangesOf(w.db, net.id);
    if (!ranges.some((r) => r.podId !== null) || input.ip !== undefined)
      return this.assignIp(w, nic, net, input.ip, undefined, ranges);
    return nic;
  }

  /** The fields of a live VM that NIC allocation checks; NotFoundError otherwise. */
  protected async liveVm(
    db: Db,
    vmId: number,
  ): Promise<{ id: number; zoneId: number; accountId: number; hostName: string }> {
    const row = await db
      .selectFrom('vmInstances')
      .select(['id', 'zoneId', 'accountId', 'hostName'])
      .where('id', '=', vmId)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('VirtualMachine', 'vmId', vmId);
    return {
      id: Number(row.id),
      zoneId: Number(row.zoneId),
      accountId: Number(row.accountId),
      hostName: row.hostName,
    };
  }

  /**
   * `guru.reserve` at VM start, in the caller's transaction: the network must be implemented (or
   * `Setup`); the NIC gets its address (from the VM's pod on per-pod networks) and the network's
   * broadcast URI; `Allocated → Reserving → Reserved`.
   */
  async reserveNic(w: Writer, nicId: number, opts: { podId?: number; reservationId?: string } = {}): Promise<Nic> {
    const nic = await nicRepo.get(w.db, nicId, 'nicId');
    const net = await networkRepo.get(w.db, nic.networkId);
    if (net.state !== 'Implemented' && net.state !== 'Setup')
      throw new InvalidStateError(`network ${net.name} is ${net.state}: implement it before reserving NICs`, {
        field: 'networkId',
        value: net.id,
      });
    return this.reserve(w, nic, net, opts);
  }

  /**
   * {@link reserveNic} when the NIC's network is already implemented (or `Setup`); otherwise
   * nothing, and `null`: the network must be implemented first, outside any transaction.
   */
  async reserveNicIfImplemented(
    w: Writer,
    nic: Nic,
    opts: { podId?: number } = {},
  ): Promise<{ nic: Nic; network: Network } | null> {
    const network = await networkRepo.get(w.db, nic.networkId);
    if (network.state !== 'Implemented' && network.state !== 'Setup') return null;
    return { nic: await this.reserve(w, nic, network, opts), network };
  }

  protected async reserve(
    w: Writer,
    nic: Nic,
    net: Network,
    opts: { podId?: number; reservationId?: string },
  ): Promise<Nic> {
    const reservation = {
      broadcastUri: net.broadcastUri,
      isolationUri: net.broadcastUri,
      reserver: net.guruName,
      reservationId: opts.reservationId ?? newUuid(),
    };
    let reserved: Nic;
    if (nic.ip4Address !== null) {
      // Already addressed (allocated with its IP): Allocated → Reserving → Reserved in one UPDATE.
      reserved = await this.moveNic(w, nic, 'ReservationRequested', reservation, 'OperationCompleted');
    } else {
      const reserving = await this.moveNic(w, nic, 'ReservationRequested');
      const addressed = await this.assignIp(w, reserving, net, undefined, opts.podId);
      reserved = await this.moveNic(w, addressed, 'OperationCompleted', reservation);
    }
    if (net.idleSince !== null)
      await w.db.updateTable('networks').set({ idleSince: null }).where('id', '=', net.id).execute();
    return { ...reserved, ...reservation };
  }

  /** Hands a reserved NIC to the network's elements (VR: DHCP/DNS entry), outside any transaction. */
  async prepareNic(nicId: Ref): Promise<void> {
    nicId = await nicRepo.resolve(this.ctx.db, nicId, 'nicId');
    const { net, offering, nic } = await this.nicContext(nicId);
    const profile = await this.deps.configurator.profile(this.ctx.db, net, offering);
    for (const e of this.deps.elements.forOffering(offering)) await e.prepare(profile, nic);
  }

  /** {@link prepareNic} for a NIC whose records the caller holds (its VM's host name, and maybe its zone, too). */
  async prepareReservedNic(nic: Nic, net: Network, hostName: string, zone?: Zone): Promise<void> {
    const offering = await networkOfferingRepo.get(this.ctx.db, net.networkOfferingId);
    const profile = await this.deps.configurator.profile(this.ctx.db, net, offering, zone);
    for (const e of this.deps.elements.forOffering(offering)) await e.prepare(profile, nicProfile(nic, hostName));
  }

  /** Tells the elements a NIC is going away (VM stop), outside any transaction. */
  async unprepareNic(nicId: Ref): Promise<void> {
    nicId = await nicRepo.resolve(this.ctx.db, nicId, 'nicId');
    const { net, offering, nic } = await this.nicContext(nicId);
    const profile = await this.deps.configurator.profile(this.ctx.db, net, offering);
    for (const e of this.deps.elements.forOffering(offering)) await e.release(profile, nic);
  }

  /** Implement the network (if needed), reserve the NIC and prepare it on the elements: one VM start's network part. */
  async startNic(nicId: Ref, options: { podId?: Ref } = {}): Promise<Nic> {
    nicId = await nicRepo.resolve(this.ctx.db, nicId, 'nicId');
    const opts = await resolveRefs(this.ctx.db, options, { podId: podRepo });
    const nic = await nicRepo.get(this.ctx.db, nicId, 'nicId');
    await this.implement(nic.networkId);
    const reserved = await this.ctx.write((w) => this.reserveNic(w, nicId, opts));
    await this.prepareNic(nicId);
    return reserved;
  }

  /** Release on the elements, then in the store: one VM stop's network part. */
  async stopNic(nicId: Ref): Promise<Nic> {
    nicId = await nicRepo.resolve(this.ctx.db, nicId, 'nicId');
    await this.unprepareNic(nicId);
    return this.ctx.write((w) => this.releaseNic(w, nicId));
  }

  /** `guru.release` at VM stop: `Reserved → Releasing → Allocated`; the address stays with the NIC. */
  async releaseNic(w: Writer, nicId: number): Promise<Nic> {
    const nic = await nicRepo.get(w.db, nicId, 'nicId');
    const releasing = await this.moveNic(w, nic, 'ReleaseRequested');
    await this.moveNic(w, releasing, 'OperationCompleted', { reservationId: null });
    return nicRepo.get(w.db, nicId);
  }

  /**
   * `guru.deallocate` at VM expunge: the NIC must not be reserved; its static NAT, port-forwarding
   * rules and load-balancer memberships go (revoked on the next apply), its address and MAC are
   * released and the NIC removed.
   */
  async deallocateNic(w: Writer, nicId: number): Promise<void> {
    const nic = await nicRepo.get(w.db, nicId, 'nicId');
    if (nic.state !== 'Allocated')
      throw new InvalidStateError(`NIC ${nic.id} is ${nic.state}; release it (stop the VM) first`, {
        field: 'nicId',
        value: nicId,
      });
    await w.db.updateTable('staticNats').set({ revoked: 1 }).where('nicId', '=', nic.id).execute();
    await w.db.deleteFrom('lbMembers').where('nicId', '=', nic.id).execute();
    await w.db
      .updateTable('networkRules')
      .set({ state: 'Revoke' })
      .where('nicId', '=', nic.id)
      .where('purpose', '=', 'PortForwarding')
      .execute();
    await this.deps.ips.releaseOwned(w, 'Nic', nic.id);
    await this.deps.macs.release(w, (await networkRepo.get(w.db, nic.networkId)).zoneId, nic.macAddress);
    const done = await w.db
      .updateTable('nics')
      .set({ state: 'Deallocating', removed: w.now, ipAllocationId: null, updatedCount: nic.updatedCount + 1 })
      .where('id', '=', nic.id)
      .where('updatedCount', '=', nic.updatedCount)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) !== 1)
      throw new InvalidStateError(`NIC ${nic.id} changed underneath`, { field: 'nicId', value: nicId });
  }

  /** NICs by id, of a VM or a network; a page of them with `page`/`pageSize`, matching `keyword` in the IPv4 address. */
  async listNics(filter: { vmId?: Ref; networkId?: Ref } & ListOptions = {}): Promise<Nic[]> {
    const db = this.ctx.db;
    return nicRepo.list(
      db,
      {
        instanceId: await resolveOptionalRef(db, vmRefs, filter.vmId, 'vmId'),
        networkId: await resolveOptionalRef(db, networkRepo, filter.networkId, 'networkId'),
      },
      await listPaging(this.ctx, filter),
    );
  }

  /** Allocates the NIC's guest address and records it on the NIC; the NIC as updated. */
  protected async assignIp(
    w: Writer,
    nic: Nic,
    net: Network,
    ip?: string,
    podId?: number,
    ranges?: readonly IpRange[],
  ): Promise<Nic> {
    const alloc = await this.deps.ips.allocateGuestIp(w, {
      ...(ranges !== undefined ? { ranges } : {}),
      networkId: net.id,
      ownerType: 'Nic',
      ownerId: nic.id,
      accountId: net.accountId,
      domainId: net.domainId,
      ...(ip !== undefined ? { ip } : {}),
      ...(podId !== undefined ? { podId } : {}),
    });
    const range =
      ranges?.find((r) => r.id === alloc.poolId) ??
      (await w.db.selectFrom('ipRanges').selectAll().where('id', '=', alloc.poolId).executeTakeFirstOrThrow());
    const set = { ip4Address: alloc.ip, ipAllocationId: alloc.id, netmask: range.netmask, gateway: range.gateway };
    await runStatement(w.db, nicAssignIpSet, {
      ip4Address: set.ip4Address,
      ipAllocationId: set.ipAllocationId,
      netmask: set.netmask,
      gateway: set.gateway,
      nicId: nic.id,
    });
    // The NIC as this transaction left it (no re-read).
    return { ...nic, ...set };
  }

  protected async nicContext(nicId: number): Promise<{ net: Network; offering: NetworkOffering; nic: NicProfile }> {
    const nic = await nicRepo.get(this.ctx.db, nicId, 'nicId');
    const net = await networkRepo.get(this.ctx.db, nic.networkId);
    const offering = await networkOfferingRepo.get(this.ctx.db, net.networkOfferingId);
    const vm = await this.ctx.db
      .selectFrom('vmInstances')
      .select('hostName')
      .where('id', '=', nic.instanceId)
      .executeTakeFirst();
    return { net, offering, nic: nicProfile(nic, vm?.hostName ?? `nic-${nic.id}`) };
  }

  protected async moveNic(
    w: Writer,
    nic: Nic,
    event: NicEvent,
    set?: Record<string, unknown>,
    then?: NicEvent,
  ): Promise<Nic> {
    const r = await w.transition({
      table: 'nics',
      id: nic.id,
      machine: nicStateMachine,
      event,
      ...(then ? { then } : {}),
      expect: { state: nic.state, version: nic.updatedCount },
      ...(set ? { set } : {}),
      resource: { type: 'Nic', uuid: nic.uuid },
      eventPrefix: 'NIC',
    });
    return { ...nic, state: r.to, updatedCount: r.version };
  }
}

/** A NIC as the network elements see it. */
function nicProfile(nic: Nic, hostName: string): NicProfile {
  return {
    nicId: nic.id,
    vmId: nic.instanceId,
    hostName,
    ip: nic.ip4Address,
    mac: nic.macAddress,
    netmask: nic.netmask,
    gateway: nic.gateway,
    isDefault: nic.isDefault,
  };
}

// From the VMs of that name (indexed) to their NICs, not from every NIC on the network.
const vmHostNameOnNetwork = statement('vm.hostNameOnNetwork', (q, p: { hostName: string; networkId: number }) =>
  q
    .selectFrom('vmInstances')
    .select('vmInstances.id')
    .where('vmInstances.hostName', '=', p.hostName)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('nics')
          .select('nics.id')
          .whereRef('nics.instanceId', '=', 'vmInstances.id')
          .where('nics.networkId', '=', p.networkId)
          .where('nics.removed', 'is', null),
      ),
    ),
);

const nicAssignIpSet = statement(
  'nic.assignIp.set',
  (
    q,
    p: {
      ip4Address: string | null;
      ipAllocationId: number | null;
      netmask: string | null;
      gateway: string | null;
      nicId: number;
    },
  ) =>
    q
      .updateTable('nics')
      .set({ ip4Address: p.ip4Address, ipAllocationId: p.ipAllocationId, netmask: p.netmask, gateway: p.gateway })
      .where('id', '=', p.nicId),
);
