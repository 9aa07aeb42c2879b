import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, InvalidStateError, PermissionDeniedError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { type NetworkEvent, networkStateMachine } from '../model/state-machines/network.js';
import {
  intToIpv4,
  ipv4ToInt,
  optionalString,
  parseCidr,
  requireCidr,
  requireInteger,
  requireIpv4,
  requireString,
} from '../model/validate.js';
import { isRootAdmin } from '../resources/permissions.js';
import { physicalNetworkRepo } from '../resources/physical-networks.js';
import { podRepo } from '../resources/pods.js';
import { resolveRefs } from '../resources/ref-resolution.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { accountRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import type { NetworkDeps } from './network-layer-deps.js';
import {
  type Network,
  type NetworkOffering,
  networkAclRepo,
  networkOfferingRepo,
  networkRepo,
  nicRepo,
  vpcRepo,
} from './records.js';
import { EXTERNAL_LB_PROVIDERS } from './services.js';

/**
 * A guest network to create (CloudStack's createNetwork): zone, name, offering and, for shared or
 * specified networks, VLAN, gateway and netmask.
 */
export interface CreateNetworkInput {
  zoneId: Ref;
  name: string;
  displayText?: string;
  networkOfferingId: Ref;
  /** Default: the zone's enabled physical network carrying Guest traffic whose tags match the offering. */
  physicalNetworkId?: Ref;
  /** Owner; default the caller. Only admins create networks for other accounts. */
  accountId?: Ref;
  /** Isolated: default the zone's guest CIDR. */
  cidr?: string;
  /** Default: first usable address of the CIDR. Shared networks: required with netmask. */
  gateway?: string;
  netmask?: string;
  /** Shared networks (specifyIpRanges): the address range handed to VMs. */
  startIp?: string;
  endIp?: string;
  /** Shared networks in basic zones: the pod this guest range serves. */
  podId?: Ref;
  /** Shared networks (specifyVlan): the admin-given VLAN, or omitted for untagged. */
  vlan?: number;
  networkDomain?: string;
  /** Set by VpcService for tiers. */
  vpcId?: Ref;
  aclId?: Ref;
}

/** NIC states that hold a reservation on their network. */
const ACTIVE_NIC_STATES = ['Reserving', 'Reserved'] as const;

/**
 * A guest network's own lifecycle (spec/networking.md §6): designed at create, implemented lazily at the
 * first VM start, shut down by garbage collection, deleted. The first layer of {@link GuestNetworkService}.
 */
export class GuestNetworkLifecycle {
  constructor(
    protected readonly ctx: CloudContext,
    protected readonly deps: NetworkDeps,
  ) {}

  async get(id: Ref, db: Db = this.ctx.db): Promise<Network> {
    id = await networkRepo.resolve(db, id);
    return networkRepo.get(db, id);
  }

  /** Networks by id, filtered; a page of them with `page`/`pageSize`, matching `keyword` by name or display text. */
  list(filter: { zoneId?: Ref; accountId?: Ref; vpcId?: Ref; state?: string } & ListOptions = {}): Promise<Network[]> {
    return networkRepo.listFor(this.ctx, filter, { zoneId: zoneRepo, accountId: accountRepo, vpcId: vpcRepo });
  }

  /** Creates (designs) a network; a persistent offering's network is implemented at once. */
  async create(input: CreateNetworkInput): Promise<Network> {
    return this.createResolved(
      await resolveRefs(this.ctx.db, input, {
        zoneId: zoneRepo,
        networkOfferingId: networkOfferingRepo,
        physicalNetworkId: physicalNetworkRepo,
        accountId: accountRepo,
        podId: podRepo,
        vpcId: vpcRepo,
        aclId: networkAclRepo,
      }),
    );
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private async createResolved(input: Resolved<CreateNetworkInput>): Promise<Network> {
    const net = await this.ctx.write((w) => this.design(w, input));
    const offering = await networkOfferingRepo.get(this.ctx.db, net.networkOfferingId);
    if (offering.persistent && net.state === 'Allocated') return this.implement(net.id);
    return net;
  }

  /** `guru.design` + persist, in the caller's transaction. */
  async design(w: Writer, input: Resolved<CreateNetworkInput>): Promise<Network> {
    const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
    const name = requireString('name', input.name, { max: 255 });
    const offering = await networkOfferingRepo.get(w.db, input.networkOfferingId, 'networkOfferingId');
    if (offering.state !== 'Enabled')
      throw new InvalidParameterError(
        'networkOfferingId',
        input.networkOfferingId,
        `network offering ${offering.name} is ${offering.state}`,
      );
    if (offering.forVpc !== (input.vpcId !== undefined)) {
      throw new InvalidParameterError(
        'networkOfferingId',
        input.networkOfferingId,
        offering.forVpc
          ? `offering ${offering.name} is for VPC tiers`
          : `offering ${offering.name} cannot be used for a VPC tier`,
      );
    }
    if (offering.guestType === 'Isolated' && zone.networkType !== 'Advanced')
      throw new InvalidParameterError(
        'networkOfferingId',
        input.networkOfferingId,
        'isolated networks need an advanced zone',
      );
    const accountId = input.accountId ?? w.caller.accountId;
    if (accountId !== w.caller.accountId && !isRootAdmin(w.caller))
      throw new PermissionDeniedError(`account ${w.caller.accountId} may not create networks for account ${accountId}`);
    const account = await accountRepo.get(w.db, accountId, 'accountId');
    if (offering.guestType === 'Shared' && !isRootAdmin(w.caller))
      throw new PermissionDeniedError('only a root admin may create shared networks');
    const pn = await this.pickPhysicalNetwork(w.db, zone.id, offering, input.physicalNetworkId);
    if (offering.guestType === 'Isolated') await checkResourceLimits(w, this.deps.settings, accountId, { network: 1 });

    let cidr: string | null = null;
    let gateway: string | null = null;
    let netmask: string | null = null;
    let broadcastUri: string | null = null;
    let specifiedVlan: number | null = null;
    let state: 'Allocated' | 'Setup' = 'Allocated';
    let guruName = 'GuestNetworkGuru';
    if (offering.guestType === 'Isolated') {
      const c = requireCidr('cidr', input.cidr ?? zone.guestCidr);
      cidr = c.text;
      gateway = input.gateway === undefined ? intToIpv4(c.first + 1) : requireIpv4('gateway', input.gateway);
      netmask = intToIpv4(c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0);
      if (offering.services.Gateway?.includes('JuniperSRX')) guruName = 'ExternalGuestNetworkGuru';
    } else {
      guruName = zone.networkType === 'Basic' ? 'DirectPodBasedNetworkGuru' : 'DirectNetworkGuru';
      if (input.vlan !== undefined) {
        specifiedVlan = requireInteger('vlan', input.vlan, { min: 1, max: 4094 });
        if (pn.vlanRanges.some((r) => specifiedVlan! >= r.start && specifiedVlan! <= r.end))
          throw new InvalidParameterError(
            'vlan',
            input.vlan,
            `VLAN ${specifiedVlan} belongs to the guest VLAN pool of physical network ${pn.name}`,
          );
        const clash = await w.db
          .selectFrom('networks')
          .select('id')
          .where('physicalNetworkId', '=', pn.id)
          .where('specifiedVlan', '=', specifiedVlan)
          .where('removed', 'is', null)
          .executeTakeFirst();
        if (clash)
          throw new InvalidParameterError(
            'vlan',
            input.vlan,
            `VLAN ${specifiedVlan} is already used by network ${clash.id}`,
          );
        broadcastUri = `vlan://${specifiedVlan}`;
      } else if (offering.specifyVlan && zone.networkType === 'Advanced') {
        throw new InvalidParameterError('vlan', input.vlan, `offering ${offering.name} needs a VLAN (specify VLAN)`);
      }
      if (input.gateway === undefined || input.netmask === undefined)
        throw new InvalidParameterError(
          input.gateway === undefined ? 'gateway' : 'netmask',
          undefined,
          'shared networks need a gateway and netmask',
        );
      gateway = requireIpv4('gateway', input.gateway);
      netmask = requireIpv4('netmask', input.netmask);
      state = 'Setup';
    }
    const row = await w.db
      .insertInto('networks')
      .values({
        uuid: newUuid(),
        created: w.now,
        removed: null,
        name,
        displayText: input.displayText === undefined ? name : requireString('displayText', input.displayText),
        zoneId: zone.id,
        physicalNetworkId: pn.id,
        networkOfferingId: offering.id,
        trafficType: 'Guest',
        guestType: offering.guestType,
        cidr,
        gateway,
        netmask,
        broadcastDomainType: 'Vlan',
        broadcastUri,
        specifiedVlan,
        aclType: offering.guestType === 'Shared' ? 'Domain' : 'Account',
        networkDomain: optionalString('networkDomain', input.networkDomain),
        guruName,
        specifyIpRanges: offering.specifyIpRanges ? 1 : 0,
        restartRequired: 0,
        vpcId: input.vpcId ?? null,
        aclId: input.aclId ?? null,
        accountId,
        domainId: account.domainId,
        idleSince: null,
        state,
        updatedCount: 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const net = networkRepo.decode(row);
    const externalLb = (offering.services.Lb ?? []).some((p) => EXTERNAL_LB_PROVIDERS.includes(p));
    const range = await this.deps.guestRanges.create(w, {
      networkId: net.id,
      zoneId: zone.id,
      ...(cidr !== null ? { cidr } : {}),
      ...(gateway !== null ? { gateway } : {}),
      ...(netmask !== null && cidr === null ? { netmask } : {}),
      ...(input.startIp !== undefined ? { startIp: input.startIp } : {}),
      ...(input.endIp !== undefined ? { endIp: input.endIp } : {}),
      ...(input.podId !== undefined ? { podId: input.podId } : {}),
      ...(specifiedVlan !== null ? { vlan: specifiedVlan } : {}),
      ...(offering.guestType === 'Shared' ? { vlanType: 'DirectAttached' as const } : {}),
      reserveExternalLbAddress: externalLb,
    });
    if (cidr === null) {
      await w.db.updateTable('networks').set({ cidr: range.range.cidr }).where('id', '=', net.id).execute();
    }
    await w.event({
      type: 'NETWORK.CREATE',
      description: `network ${name} (${offering.guestType}, ${range.range.cidr}) created for account ${accountId}`,
      resourceType: 'Network',
      resourceId: net.id,
      resourceUuid: net.uuid,
      accountId,
      domainId: account.domainId,
      parameters: { offering: offering.name, physicalNetworkId: pn.id, state },
    });
    return networkRepo.get(w.db, net.id);
  }

  /**
   * Implements a network (first VM start, §6.3): `Allocated → Implementing`, VLAN taken, source-NAT
   * IP assigned (kept from an earlier implement if the network has one), elements implemented and
   * the stored rules re-applied, then `Implemented`. Idempotent for `Implemented` and `Setup`
   * networks. On failure the elements are shut down, the VLAN returned, and the network goes
   * `Shutdown → Allocated`.
   */
  async implement(networkId: Ref): Promise<Network> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    // Fast path (every VM start after a network's first): an implemented network needs no write
    // transaction. The transaction below re-checks the state, so a racing implement stays safe.
    const current = await this.settledNetwork(networkId);
    if (current.state === 'Implemented' || current.state === 'Setup') return current;
    // The source-NAT IP this implement acquired (not one the network already held): a failed
    // implement gives it back, so the attempt leaves the IP accounting as it found it.
    let acquiredSourceNat: number | null = null;
    const started = await this.ctx.write(async (w) => {
      acquiredSourceNat = null;
      const net = await networkRepo.get(w.db, networkId, 'networkId');
      if (net.state === 'Implemented' || net.state === 'Setup') return null;
      // Another start began implementing it since the read above: wait for that one.
      if (net.state === 'Implementing') return 'busy' as const;
      if (net.state !== 'Allocated')
        throw new InvalidStateError(`network ${net.name} is ${net.state}`, { field: 'networkId', value: networkId });
      await w.lock(`network:${net.id}`);
      await this.move(w, net, 'ImplementNetwork');
      const offering = await networkOfferingRepo.get(w.db, net.networkOfferingId);
      let broadcastUri = net.broadcastUri;
      if (net.specifiedVlan === null) {
        const vlan = await this.deps.vlans.take(w, {
          physicalNetworkId: net.physicalNetworkId,
          networkId: net.id,
          accountId: net.accountId,
        });
        broadcastUri = `vlan://${vlan.vnet}`;
      }
      if (offering.services.SourceNat && net.vpcId === null) {
        const held = await this.deps.configurator.sourceNatIp(w.db, net);
        if (!held) {
          const ip = await this.deps.ips.allocatePublicIp(w, {
            zoneId: net.zoneId,
            accountId: net.accountId,
            domainId: net.domainId,
            state: 'Allocated',
            ownerType: 'Network',
            ownerId: net.id,
            networkId: net.id,
            sourceNat: true,
          });
          acquiredSourceNat = ip.id;
        }
      }
      await w.db.updateTable('networks').set({ broadcastUri, idleSince: null }).where('id', '=', net.id).execute();
      return networkRepo.get(w.db, net.id);
    });
    if (started === null) return networkRepo.get(this.ctx.db, networkId);
    if (started === 'busy') return this.implement(networkId);
    const offering = await networkOfferingRepo.get(this.ctx.db, started.networkOfferingId);
    try {
      const profile = await this.deps.configurator.profile(this.ctx.db, started, offering);
      for (const e of this.deps.elements.forOffering(offering)) await e.implement(profile, offering);
      await this.deps.configurator.apply(started.id);
    } catch (error) {
      this.ctx.logger.warn({ err: error, networkId }, 'network implement failed; shutting it down');
      await this.shutdownElements(started, offering);
      await this.ctx.write(async (w) => {
        const net = await networkRepo.get(w.db, networkId);
        await this.move(w, net, 'OperationFailed');
        await this.finishShutdown(w, networkId);
        const ipId: number | null = acquiredSourceNat;
        if (ipId !== null) {
          await this.deps.ips.beginPublicIpRelease(w, ipId);
          await this.deps.ips.completePublicIpRelease(w, ipId);
        }
      });
      throw error;
    }
    return this.ctx.write(async (w) => {
      const net = await networkRepo.get(w.db, networkId);
      await this.move(w, net, 'OperationSucceeded');
      await w.event({
        type: 'NETWORK.IMPLEMENT',
        description: `network ${net.name} implemented on ${net.broadcastUri ?? 'untagged'}`,
        resourceType: 'Network',
        resourceId: net.id,
        resourceUuid: net.uuid,
        accountId: net.accountId,
        domainId: net.domainId,
      });
      return networkRepo.get(w.db, networkId);
    });
  }

  /**
   * Shuts an implemented network down (GC, or restart with cleanup): elements remove their device
   * state, then the VLAN goes back to the pool and the network to `Allocated`. Rules, public IP
   * associations and the source-NAT IP stay in the store (pitfall 12). The VLAN is returned only
   * after every element confirmed, so it is never handed to another account while still
   * programmed (pitfall 2). Refused while a NIC of the network is reserved (a VM runs on it).
   */
  async shutdown(networkId: Ref): Promise<Network> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    const net = await this.ctx.write(async (w) => {
      const n = await networkRepo.get(w.db, networkId, 'networkId');
      if (n.state !== 'Implemented')
        throw new InvalidStateError(`network ${n.name} is ${n.state}, not Implemented`, {
          field: 'networkId',
          value: networkId,
        });
      await w.lock(`network:${n.id}`);
      const active = await this.activeNics(w.db, n.id);
      if (active > 0)
        throw new ResourceInUseError(`network ${n.name} has ${active} reserved NIC(s)`, {
          field: 'networkId',
          value: networkId,
        });
      await this.move(w, n, 'DestroyNetwork');
      return networkRepo.get(w.db, n.id);
    });
    const offering = await networkOfferingRepo.get(this.ctx.db, net.networkOfferingId);
    try {
      await this.shutdownElements(net, offering, true);
    } catch (error) {
      await this.ctx.write(async (w) => this.move(w, await networkRepo.get(w.db, networkId), 'OperationFailed'));
      throw error;
    }
    return this.ctx.write(async (w) => {
      await this.finishShutdown(w, networkId);
      const n = await networkRepo.get(w.db, networkId);
      await w.event({
        type: 'NETWORK.SHUTDOWN',
        description: `network ${n.name} shut down`,
        resourceType: 'Network',
        resourceId: n.id,
        resourceUuid: n.uuid,
        accountId: n.accountId,
        domainId: n.domainId,
      });
      return n;
    });
  }

  /**
   * Network garbage collection (§6.4), called every `network.gc.interval` seconds by a timer or the
   * orchestrator: an implemented, non-persistent isolated network with no reserved NIC is marked
   * idle; one idle for `network.gc.wait` seconds (by the context's clock) is shut down. A network
   * that has a reserved NIC again loses its idle mark.
   */
  async collectGarbage(): Promise<{ markedIdle: number[]; shutDown: number[] }> {
    const now = this.ctx.clock.now();
    const waitMs = (await this.deps.settings.get('network.gc.wait')) * 1000;
    const candidates = await this.ctx.db
      .selectFrom('networks')
      .innerJoin('networkOfferings', 'networkOfferings.id', 'networks.networkOfferingId')
      .select(['networks.id', 'networks.idleSince'])
      .where('networks.state', '=', 'Implemented')
      .where('networks.guestType', '=', 'Isolated')
      .where('networks.removed', 'is', null)
      .where('networkOfferings.persistent', '=', 0)
      .orderBy('networks.id')
      .execute();
    const markedIdle: number[] = [];
    const shutDown: number[] = [];
    for (const c of candidates) {
      const id = Number(c.id);
      const active = await this.activeNics(this.ctx.db, id);
      if (active > 0) {
        if (c.idleSince !== null)
          await this.ctx.db.updateTable('networks').set({ idleSince: null }).where('id', '=', id).execute();
        continue;
      }
      if (c.idleSince === null) {
        await this.ctx.db
          .updateTable('networks')
          .set({ idleSince: now })
          .where('id', '=', id)
          .where('idleSince', 'is', null)
          .execute();
        markedIdle.push(id);
      } else if (now - Number(c.idleSince) >= waitMs) {
        try {
          await this.shutdown(id);
          shutDown.push(id);
        } catch (error) {
          this.ctx.logger.warn({ err: error, networkId: id }, 'network GC: shutdown failed');
        }
      }
    }
    return { markedIdle, shutDown };
  }

  /** How often {@link collectGarbage} should run, from `network.gc.interval` (ms). */
  async gcIntervalMs(): Promise<number> {
    return (await this.deps.settings.get('network.gc.interval')) * 1000;
  }

  /**
   * Deletes a network (`guru.trash`): refused while any NIC exists; an implemented network is shut
   * down first; rules are dropped, the network's public IPs (source NAT included) released — a VPC
   * tier's IPs stay with the VPC — guest ranges removed, `Destroy`.
   */
  async delete(networkId: Ref): Promise<void> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    let net = await networkRepo.get(this.ctx.db, networkId, 'networkId');
    const nics = await nicRepo.count(this.ctx.db, { networkId });
    if (nics > 0)
      throw new ResourceInUseError(`network ${net.name} still has ${nics} NIC(s)`, {
        field: 'networkId',
        value: networkId,
      });
    if (net.state === 'Implemented') net = await this.shutdown(networkId);
    const offering = await networkOfferingRepo.get(this.ctx.db, net.networkOfferingId);
    if (net.state === 'Setup') await this.shutdownElements(net, offering, true);
    await this.ctx.write(async (w) => {
      const n = await networkRepo.get(w.db, networkId, 'networkId');
      await w.lock(`network:${n.id}`);
      if ((await nicRepo.count(w.db, { networkId })) > 0)
        throw new ResourceInUseError(`network ${n.name} still has NICs`, { field: 'networkId', value: networkId });
      const ruleIds = (await w.db.selectFrom('networkRules').select('id').where('networkId', '=', n.id).execute()).map(
        (r) => Number(r.id),
      );
      if (ruleIds.length > 0) await w.db.deleteFrom('lbMembers').where('ruleId', 'in', ruleIds).execute();
      await w.db.deleteFrom('networkRules').where('networkId', '=', n.id).execute();
      await w.db.deleteFrom('staticNats').where('networkId', '=', n.id).execute();
      await w.db.deleteFrom('remoteAccessVpns').where('networkId', '=', n.id).execute();
      const ips = await w.db
        .selectFrom('ipAllocations')
        .select(['id', 'vpcId'])
        .where('space', '=', 'public')
        .where('networkId', '=', n.id)
        .execute();
      for (const ip of ips) {
        if (ip.vpcId !== null) {
          await this.deps.ips.updatePublicIp(w, Number(ip.id), { networkId: null });
        } else {
          await this.deps.ips.beginPublicIpRelease(w, Number(ip.id));
          await this.deps.ips.completePublicIpRelease(w, Number(ip.id));
        }
      }
      await this.deps.guestRanges.deleteForNetwork(w, n.id);
      await this.deps.vlans.release(w, n.id);
      await this.move(w, n, 'DestroyNetwork');
      await networkRepo.markRemoved(w.db, n.id, w.now);
      await w.event({
        type: 'NETWORK.DELETE',
        description: `network ${n.name} deleted`,
        resourceType: 'Network',
        resourceId: n.id,
        resourceUuid: n.uuid,
        accountId: n.accountId,
        domainId: n.domainId,
      });
    });
  }

  /**
   * The network once no implement is in progress on it: a VM start that finds its network
   * `Implementing` (another start, here or in another process, implementing it) waits for the
   * outcome, up to `network.lock.timeout`, instead of failing.
   */
  protected async settledNetwork(networkId: number): Promise<Network> {
    let net = await networkRepo.get(this.ctx.db, networkId, 'networkId');
    if (net.state !== 'Implementing') return net;
    const deadline = Date.now() + (await this.deps.settings.get('network.lock.timeout')) * 1000;
    for (let waitMs = 5; net.state === 'Implementing'; waitMs = Math.min(waitMs * 2, 200)) {
      if (Date.now() > deadline)
        throw new InvalidStateError(`network ${net.name} is still being implemented`, {
          field: 'networkId',
          value: networkId,
        });
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      net = await networkRepo.get(this.ctx.db, networkId, 'networkId');
    }
    return net;
  }

  // ---- internals ----

  protected async pickPhysicalNetwork(db: Db, zoneId: number, offering: NetworkOffering, requested?: number) {
    const guestPns = new Set(
      (
        await db
          .selectFrom('physicalNetworkTrafficTypes')
          .select('physicalNetworkId')
          .where('zoneId', '=', zoneId)
          .where('trafficType', '=', 'Guest')
          .execute()
      ).map((r) => Number(r.physicalNetworkId)),
    );
    const tagsMatch = (tags: string[]) => offering.tags.every((t) => tags.includes(t));
    if (requested !== undefined) {
      const pn = await physicalNetworkRepo.get(db, requested, 'physicalNetworkId');
      if (pn.zoneId !== zoneId) throw new InvalidParameterError('physicalNetworkId', requested, 'not in the zone');
      if (pn.state !== 'Enabled')
        throw new InvalidParameterError(
          'physicalNetworkId',
          requested,
          `physical network ${pn.name} is ${pn.state}; disabled networks take no new guest networks`,
        );
      if (!guestPns.has(pn.id))
        throw new InvalidParameterError(
          'physicalNetworkId',
          requested,
          `physical network ${pn.name} carries no Guest traffic`,
        );
      if (!tagsMatch(pn.tags))
        throw new InvalidParameterError(
          'physicalNetworkId',
          requested,
          `tags ${JSON.stringify(pn.tags)} do not match the offering's ${JSON.stringify(offering.tags)}`,
        );
      return pn;
    }
    const all = await physicalNetworkRepo.list(db, { zoneId });
    const fit = all.find((pn) => pn.state === 'Enabled' && guestPns.has(pn.id) && tagsMatch(pn.tags));
    if (!fit)
      throw new InvalidParameterError(
        'zoneId',
        zoneId,
        'no enabled physical network carrying Guest traffic matches the offering tags',
      );
    return fit;
  }

  protected async activeNics(db: Db, networkId: number): Promise<number> {
    const row = await db
      .selectFrom('nics')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('networkId', '=', networkId)
      .where('removed', 'is', null)
      .where('state', 'in', [...ACTIVE_NIC_STATES])
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  protected async shutdownElements(net: Network, offering: NetworkOffering, strict = false): Promise<void> {
    const profile = await this.deps.configurator.profile(this.ctx.db, net, offering);
    for (const e of this.deps.elements.forOffering(offering)) {
      try {
        await e.shutdown(profile, true);
      } catch (error) {
        if (strict) throw error;
        this.ctx.logger.warn({ err: error, networkId: net.id, provider: e.provider }, 'element shutdown failed');
      }
    }
  }

  /** `guru.shutdown`: VLAN back to the pool, `Shutdown → Allocated`. */
  protected async finishShutdown(w: Writer, networkId: number): Promise<void> {
    const net = await networkRepo.get(w.db, networkId);
    if (net.specifiedVlan === null) await this.deps.vlans.release(w, net.id);
    await w.db
      .updateTable('networks')
      .set({ broadcastUri: net.specifiedVlan === null ? null : net.broadcastUri, idleSince: null })
      .where('id', '=', net.id)
      .execute();
    await this.move(w, await networkRepo.get(w.db, networkId), 'OperationSucceeded');
  }

  protected async move(w: Writer, net: Network, event: NetworkEvent): Promise<void> {
    await w.transition({
      table: 'networks',
      id: net.id,
      machine: networkStateMachine,
      event,
      expect: { state: net.state, version: net.updatedCount },
      resource: { type: 'Network', uuid: net.uuid, accountId: net.accountId, domainId: net.domainId },
      eventPrefix: 'NETWORK',
    });
  }
}

/** Whether `ip` lies in the network's CIDR. */
export function inNetworkCidr(net: Network, ip: string): boolean {
  if (!net.cidr) return false;
  const c = parseCidr(net.cidr);
  const n = ipv4ToInt(ip);
  return n >= c.first && n <= c.last;
}
