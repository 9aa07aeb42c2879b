import type { CloudContext } from '../context.js';
import { InvalidParameterError, InvalidStateError, PermissionDeniedError } from '../errors.js';
import type { IpAllocation } from '../ipam/records.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { listPaging } from '../resources/list-paging.js';
import { isRootAdmin } from '../resources/permissions.js';
import { resolveOptionalRef, resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { ipAddressRefs } from '../resources/ref-tables.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { accountRepo } from '../resources/tenancy.js';
import type { Db } from '../store/store.js';
import type { NetworkDeps } from './network-layer-deps.js';
import { networkRepo, vpcRepo } from './records.js';

/**
 * Public IPs of an account's networks and VPCs (spec/networking.md §4.8, §4.9): acquire takes an
 * address (`Allocating`; `Allocated` once pushed to the providers of an implemented network),
 * counted against `max.account.public.ips` (system-owned IPs and IPs of dedicated ranges do not
 * count); release revokes every rule on the IP first, waits in
 * `Releasing` until the providers confirmed, then frees it (pitfall 13). The source-NAT IP lives
 * with its network (or VPC) and is not releasable on its own. All inbound traffic to an IP is
 * denied until a firewall rule allows it.
 */
export class PublicIpService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly deps: NetworkDeps,
  ) {}

  async get(id: Ref, db: Db = this.ctx.db): Promise<IpAllocation> {
    id = await resolveRef(db, ipAddressRefs, id, 'id');
    return this.deps.ips.getAllocation(db, id, 'public');
  }

  /** Public IPs by address, filtered; a page of them with `page`/`pageSize`, matching `keyword` in the address. */
  async list(filter: { networkId?: Ref; accountId?: Ref } & ListOptions = {}): Promise<IpAllocation[]> {
    const db = this.ctx.db;
    return this.deps.ips.listAllocations(
      db,
      {
        space: 'public',
        networkId: await resolveOptionalRef(db, networkRepo, filter.networkId, 'networkId'),
        accountId: await resolveOptionalRef(db, accountRepo, filter.accountId, 'accountId'),
      },
      await listPaging(this.ctx, filter),
    );
  }

  /** Acquires a public IP for a network (`networkId`) or a VPC (`vpcId`) of the caller's account. */
  async acquire(input: { networkId?: Ref; vpcId?: Ref; ip?: string }): Promise<IpAllocation> {
    return this.acquireResolved(await resolveRefs(this.ctx.db, input, { networkId: networkRepo, vpcId: vpcRepo }));
  }

  /** {@link acquire} with the input's references resolved to numeric ids. */
  private async acquireResolved(input: Resolved<{ networkId?: Ref; vpcId?: Ref; ip?: string }>): Promise<IpAllocation> {
    if ((input.networkId === undefined) === (input.vpcId === undefined))
      throw new InvalidParameterError('networkId', input.networkId, 'give exactly one of networkId and vpcId');
    const row = await this.ctx.write(async (w) => {
      let owner: {
        accountId: number;
        domainId: number;
        zoneId: number;
        networkId: number | null;
        vpcId: number | null;
      };
      if (input.networkId !== undefined) {
        const net = await networkRepo.get(w.db, input.networkId, 'networkId');
        if (net.guestType !== 'Isolated')
          throw new InvalidParameterError(
            'networkId',
            input.networkId,
            'public IPs are acquired for isolated networks',
          );
        if (net.vpcId !== null)
          throw new InvalidParameterError('networkId', input.networkId, 'acquire VPC addresses for the VPC (vpcId)');
        owner = {
          accountId: net.accountId,
          domainId: net.domainId,
          zoneId: net.zoneId,
          networkId: net.id,
          vpcId: null,
        };
      } else {
        const vpc = await vpcRepo.get(w.db, input.vpcId as number, 'vpcId');
        owner = {
          accountId: vpc.accountId,
          domainId: vpc.domainId,
          zoneId: vpc.zoneId,
          networkId: null,
          vpcId: vpc.id,
        };
      }
      if (owner.accountId !== w.caller.accountId && !isRootAdmin(w.caller))
        throw new PermissionDeniedError(
          `account ${w.caller.accountId} may not acquire IPs for account ${owner.accountId}`,
        );
      await w.lock(`public-ips:account:${owner.accountId}`);
      // System-owned IPs and IPs of ranges dedicated to a domain or account do not count (§4.8).
      await checkResourceLimits(w, this.deps.settings, owner.accountId, { public_ip: 1 });
      await accountRepo.get(w.db, owner.accountId);
      return this.deps.ips.allocatePublicIp(w, {
        zoneId: owner.zoneId,
        accountId: owner.accountId,
        domainId: owner.domainId,
        ownerType: owner.vpcId !== null ? 'Vpc' : 'Network',
        ownerId: owner.vpcId ?? owner.networkId,
        networkId: owner.networkId,
        vpcId: owner.vpcId,
        state: 'Allocating',
        ...(input.ip !== undefined ? { ip: input.ip } : {}),
      });
    });
    if (row.networkId !== null) await this.deps.configurator.apply(row.networkId);
    return this.get(row.id);
  }

  /**
   * Releases an IP: every rule on it revoked, `Releasing` while the providers de-provision, then
   * free. With `network.rule.delete.ignoreerror` (default true) a provider error does not stop the
   * release; otherwise the IP stays `Releasing` and the error is thrown (retry by calling again).
   */
  async release(id: Ref): Promise<void> {
    id = await resolveRef(this.ctx.db, ipAddressRefs, id, 'id');
    const ip = await this.ctx.write(async (w) => {
      const row = await this.deps.ips.getAllocation(w.db, id, 'public');
      if (row.accountId !== w.caller.accountId && !isRootAdmin(w.caller))
        throw new PermissionDeniedError(`account ${w.caller.accountId} may not release IP ${row.ip}`);
      if (row.sourceNat)
        throw new InvalidParameterError(
          'id',
          id,
          `${row.ip} is the source NAT IP; it is released with its ${row.vpcId !== null ? 'VPC' : 'network'}`,
        );
      if (row.state === 'Reserved') throw new InvalidStateError(`${row.ip} is reserved`, { field: 'id', value: id });
      await w.db.updateTable('networkRules').set({ state: 'Revoke' }).where('ipAllocationId', '=', id).execute();
      await w.db.updateTable('staticNats').set({ revoked: 1 }).where('ipAllocationId', '=', id).execute();
      return this.deps.ips.beginPublicIpRelease(w, id);
    });
    if (ip.networkId !== null) {
      try {
        await this.deps.configurator.apply(ip.networkId);
      } catch (error) {
        const ignore = await this.deps.settings.get('network.rule.delete.ignoreerror');
        if (!ignore) throw error;
        this.ctx.logger.warn({ err: error, ip: ip.ip }, 'public IP release: provider error ignored');
      }
    }
    await this.ctx.write(async (w) => {
      const ruleIds = (
        await w.db.selectFrom('networkRules').select('id').where('ipAllocationId', '=', id).execute()
      ).map((r) => Number(r.id));
      if (ruleIds.length > 0) {
        await w.db.deleteFrom('lbMembers').where('ruleId', 'in', ruleIds).execute();
        await w.db.deleteFrom('networkRules').where('id', 'in', ruleIds).execute();
      }
      await w.db.deleteFrom('staticNats').where('ipAllocationId', '=', id).execute();
      await this.deps.ips.completePublicIpRelease(w, id);
    });
  }
}
