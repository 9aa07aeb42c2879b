import { randomInt } from 'node:crypto';
import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, NotFoundError, PermissionDeniedError, ResourceLimitError } from '../errors.js';
import type { IpAllocation } from '../ipam/records.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { intToIpv4, ipv4ToInt, parseCidr, rangesOverlap, requireIpv4, requireString } from '../model/validate.js';
import { isRootAdmin } from '../resources/permissions.js';
import { resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { ipAddressRefs } from '../resources/ref-tables.js';
import { accountRepo } from '../resources/tenancy.js';
import { settingDefinition } from '../settings/catalog.js';
import { newUuid } from '../store/uuid.js';
import type { NetworkDeps } from './network-layer-deps.js';
import { NetworkRuleConflictError } from './network-rule-conflict-error.js';
import {
  type Network,
  networkOfferingRepo,
  networkRepo,
  networkRuleRepo,
  type RemoteAccessVpn,
  remoteAccessVpnRepo,
  type VpnUser,
  vpnUserRepo,
} from './records.js';

const isIpv4 = (text: string): boolean => {
  try {
    requireIpv4('ip', text);
    return true;
  } catch {
    return false;
  }
};

/** IPsec IKE, L2TP and NAT-T: the UDP ports a remote-access VPN takes on its public IP. */
export const VPN_UDP_PORTS: readonly number[] = Object.freeze([500, 1701, 4500]);

/** CloudStack's rule for VPN usernames: 3–64 characters, a letter or digit first, then letters, digits and `@._-`. */
const USERNAME = /^[a-zA-Z0-9][a-zA-Z0-9@._-]{2,63}$/;
/** CloudStack's rule for VPN passwords: 3–32 characters, a letter or digit first, then letters, digits and `@+=._-`. */
const PASSWORD = /^[a-zA-Z0-9][a-zA-Z0-9@+=._-]{2,31}$/;
const PSK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** What enabling a remote-access VPN on a source-NAT public IP takes (the client address range). */
export interface EnableRemoteAccessVpnInput {
  /** The public IP: the source-NAT IP of an isolated network. */
  ipId: Ref;
  /**
   * The range `first-last`; default `remote.access.vpn.client.iprange`. The first address is the
   * server's, the rest go to clients; it must not overlap the network's guest CIDR.
   */
  ipRange?: string;
}

/** A VPN user of an account. */
export interface VpnUserInput {
  username: string;
  password: string;
  /** The account (root admin only for another account); default the caller's. */
  accountId?: Ref;
}

/**
 * Remote-access VPN (spec/networking.md §10.1, pitfall 14): L2TP over IPsec on an isolated
 * network's **source-NAT IP**, one per network. The configured range's first address is the VPN
 * server's and the rest is the client pool, which must not overlap the guest CIDR; the pre-shared
 * key is `remote.access.vpn.psk.length` random characters. VPN users belong to the **account** and
 * are valid on every VPN of the account, at most `remote.access.vpn.user.limit`.
 *
 * States follow CloudStack: a VPN is `Added` until its providers run it (`Running`), and
 * `Removed` until they confirmed its removal; a user is `Add` until every VPN of the account has
 * it (`Active`), and `Revoke` until they all dropped it. A network that is not implemented gets
 * the VPN and its users at its next implement (the configurator pushes the full set). A provider
 * failure leaves the stored intent as it is, and calling again retries.
 */
export class RemoteAccessVpnService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly deps: NetworkDeps,
  ) {}

  /** The VPN of a network, if any. */
  async forNetwork(networkId: Ref): Promise<RemoteAccessVpn | undefined> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    return (await remoteAccessVpnRepo.list(this.ctx.db, { networkId }))[0];
  }

  /** Remote-access VPNs by id; a page of them with `page`/`pageSize`. */
  list(filter: { accountId?: Ref } & ListOptions = {}): Promise<RemoteAccessVpn[]> {
    return remoteAccessVpnRepo.listFor(this.ctx, filter, { accountId: accountRepo });
  }

  /** Enables the VPN on a network's source-NAT IP (`createRemoteAccessVpn`). */
  async enable(input: EnableRemoteAccessVpnInput): Promise<RemoteAccessVpn> {
    return this.enableResolved(await resolveRefs(this.ctx.db, input, { ipId: ipAddressRefs }));
  }

  /** {@link enable} with the input's references resolved to numeric ids. */
  private async enableResolved(input: Resolved<EnableRemoteAccessVpnInput>): Promise<RemoteAccessVpn> {
    const vpn = await this.ctx.write(async (w) => {
      const ip = await this.deps.ips.getAllocation(w.db, input.ipId, 'public').catch(() => {
        throw new NotFoundError('Public IP', 'ipId', input.ipId);
      });
      this.requireOwner(w, ip.accountId ?? -1);
      if (ip.vpcId !== null)
        throw new InvalidParameterError('ipId', input.ipId, 'remote-access VPN is not available in a VPC');
      if (ip.networkId === null)
        throw new InvalidParameterError('ipId', input.ipId, `${ip.ip} is not associated with a network`);
      if (!ip.sourceNat)
        throw new InvalidParameterError(
          'ipId',
          input.ipId,
          `${ip.ip} is not the source NAT IP of its network; the VPN runs on the source NAT IP`,
        );
      if (ip.state !== 'Allocated' && ip.state !== 'Allocating')
        throw new InvalidParameterError('ipId', input.ipId, `${ip.ip} is ${ip.state}`);
      const net = await networkRepo.get(w.db, ip.networkId);
      await w.lock(`network:${net.id}`);
      if (net.guestType !== 'Isolated')
        throw new InvalidParameterError('ipId', input.ipId, 'remote-access VPN is for isolated networks');
      const offering = await networkOfferingRepo.get(w.db, net.networkOfferingId);
      if (!offering.services.Vpn)
        throw new InvalidParameterError(
          'ipId',
          input.ipId,
          `the network's offering ${offering.name} has no Vpn service`,
        );
      const existing = (await remoteAccessVpnRepo.list(w.db, { networkId: net.id }))[0];
      if (existing)
        throw new InvalidParameterError(
          'ipId',
          input.ipId,
          existing.state === 'Removed'
            ? `the VPN of network ${net.name} is still being removed; disable it again to retry`
            : `network ${net.name} already has a remote-access VPN`,
        );
      await this.checkPorts(w, ip);
      const range = this.parseRange(
        input.ipRange ?? (await this.deps.settings.get('remote.access.vpn.client.iprange', {}, w.db)),
        input.ipRange === undefined ? 'remote.access.vpn.client.iprange' : 'ipRange',
        net,
      );
      const psk = await this.presharedKey(w);
      const row = await w.db
        .insertInto('remoteAccessVpns')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          networkId: net.id,
          ipAllocationId: ip.id,
          zoneId: net.zoneId,
          accountId: net.accountId,
          domainId: net.domainId,
          localIp: intToIpv4(range.first),
          ipRange: `${intToIpv4(range.first + 1)}-${intToIpv4(range.last)}`,
          presharedKey: psk,
          state: 'Added',
          updatedCount: 0,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const created = remoteAccessVpnRepo.decode(row);
      await w.event({
        type: 'VPN.REMOTE.ACCESS.CREATE',
        description: `remote-access VPN on ${ip.ip} for network ${net.name}`,
        resourceType: 'IpAddress',
        resourceId: ip.id,
        resourceUuid: ip.uuid,
        accountId: net.accountId,
        domainId: net.domainId,
        parameters: { vpnId: created.id, vpnUuid: created.uuid, networkId: net.id },
      });
      return created;
    });
    await this.deps.configurator.apply(vpn.networkId);
    return remoteAccessVpnRepo.get(this.ctx.db, vpn.id);
  }

  /**
   * Disables the VPN on a public IP (`deleteRemoteAccessVpn`): `Removed` until the providers
   * confirmed, then gone. Calling again after a provider failure retries.
   */
  async disable(ipId: Ref): Promise<void> {
    ipId = await resolveRef(this.ctx.db, ipAddressRefs, ipId, 'ipId');
    const vpn = await this.ctx.write(async (w) => {
      const row = await w.db
        .selectFrom('remoteAccessVpns')
        .selectAll()
        .where('ipAllocationId', '=', ipId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!row) throw new InvalidParameterError('ipId', ipId, 'the IP has no remote-access VPN');
      const vpn = remoteAccessVpnRepo.decode(row);
      this.requireOwner(w, vpn.accountId);
      if (vpn.state !== 'Removed') {
        await w.db
          .updateTable('remoteAccessVpns')
          .set({ state: 'Removed', updatedCount: vpn.updatedCount + 1 })
          .where('id', '=', vpn.id)
          .where('updatedCount', '=', vpn.updatedCount)
          .execute();
        await w.event({
          type: 'VPN.REMOTE.ACCESS.DESTROY',
          description: `remote-access VPN of network ${vpn.networkId} removed`,
          resourceType: 'IpAddress',
          resourceId: ipId,
          accountId: vpn.accountId,
          domainId: vpn.domainId,
          parameters: { vpnId: vpn.id, vpnUuid: vpn.uuid, networkId: vpn.networkId },
        });
      }
      return vpn;
    });
    if (!(await this.deps.configurator.apply(vpn.networkId)))
      await this.ctx.write(async (w) => {
        await w.db.deleteFrom('remoteAccessVpns').where('id', '=', vpn.id).where('state', '=', 'Removed').execute();
      });
  }

  // ---- users ----

  /** VPN users by id; a page of them with `page`/`pageSize`, matching `keyword` by user name. */
  listUsers(filter: { accountId?: Ref } & ListOptions = {}): Promise<VpnUser[]> {
    return vpnUserRepo.listFor(this.ctx, filter, { accountId: accountRepo });
  }

  /** Adds a VPN user to an account (`addVpnUser`); every VPN of the account serves it. */
  async addUser(input: VpnUserInput): Promise<VpnUser> {
    return this.addUserResolved(await resolveRefs(this.ctx.db, input, { accountId: accountRepo }));
  }

  /** {@link addUser} with the input's references resolved to numeric ids. */
  private async addUserResolved(input: Resolved<VpnUserInput>): Promise<VpnUser> {
    const user = await this.ctx.write(async (w) => {
      const username = requireString('username', input.username, { max: 64 });
      if (!USERNAME.test(username))
        throw new InvalidParameterError(
          'username',
          input.username,
          "3–64 characters: a letter or digit, then letters, digits and '@._-'",
        );
      if (typeof input.password !== 'string' || !PASSWORD.test(input.password))
        // The password itself is never echoed into the error.
        throw new InvalidParameterError(
          'password',
          '(hidden)',
          "3–32 characters: a letter or digit, then letters, digits and '@+=._-'",
        );
      const account = await this.account(w, input.accountId);
      await w.lock(`vpn-users:account:${account.id}`);
      const same = await w.db
        .selectFrom('vpnUsers')
        .selectAll()
        .where('accountId', '=', account.id)
        .where('username', '=', username)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (same && same.state !== 'Revoke')
        throw new InvalidParameterError('username', username, `account ${account.id} already has VPN user ${username}`);
      const limit = await this.deps.settings.get('remote.access.vpn.user.limit', { accountId: account.id }, w.db);
      const held = await w.db
        .selectFrom('vpnUsers')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('accountId', '=', account.id)
        .where('state', '!=', 'Revoke')
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (Number(held?.n ?? 0) >= limit)
        throw new ResourceLimitError(
          `account ${account.id} has ${held?.n} VPN users (remote.access.vpn.user.limit ${limit})`,
          { field: 'accountId', value: account.id },
        );
      let id: number;
      if (same) {
        // Re-adding a user whose removal is still pending: it stays, with the new password.
        await w.db
          .updateTable('vpnUsers')
          .set({ state: 'Add', password: input.password, updatedCount: Number(same.updatedCount) + 1 })
          .where('id', '=', same.id)
          .execute();
        id = Number(same.id);
      } else {
        const row = await w.db
          .insertInto('vpnUsers')
          .values({
            uuid: newUuid(),
            created: w.now,
            removed: null,
            accountId: account.id,
            domainId: account.domainId,
            username,
            password: input.password,
            state: 'Add',
            updatedCount: 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = Number(row.id);
      }
      await w.event({
        type: 'VPN.USER.ADD',
        description: `VPN user ${username} added to account ${account.id}`,
        resourceType: 'Account',
        resourceId: account.id,
        accountId: account.id,
        domainId: account.domainId,
        parameters: { username, vpnUserId: id },
      });
      return vpnUserRepo.get(w.db, id);
    });
    await this.pushUsers(user.accountId);
    return vpnUserRepo.get(this.ctx.db, user.id);
  }

  /** Removes a VPN user (`removeVpnUser`): `Revoke` until every VPN of the account dropped it. */
  async removeUser(input: { username: string; accountId?: Ref }): Promise<void> {
    return this.removeUserResolved(await resolveRefs(this.ctx.db, input, { accountId: accountRepo }));
  }

  /** {@link removeUser} with the input's references resolved to numeric ids. */
  private async removeUserResolved(input: Resolved<{ username: string; accountId?: Ref }>): Promise<void> {
    const accountId = await this.ctx.write(async (w) => {
      const account = await this.account(w, input.accountId);
      const row = await w.db
        .selectFrom('vpnUsers')
        .selectAll()
        .where('accountId', '=', account.id)
        .where('username', '=', input.username)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!row)
        throw new InvalidParameterError('username', input.username, `account ${account.id} has no such VPN user`);
      if (row.state !== 'Revoke') {
        await w.db
          .updateTable('vpnUsers')
          .set({ state: 'Revoke', updatedCount: Number(row.updatedCount) + 1 })
          .where('id', '=', row.id)
          .execute();
        await w.event({
          type: 'VPN.USER.REMOVE',
          description: `VPN user ${row.username} removed from account ${account.id}`,
          resourceType: 'Account',
          resourceId: account.id,
          accountId: account.id,
          domainId: account.domainId,
          parameters: { username: row.username, vpnUserId: Number(row.id) },
        });
      }
      return account.id;
    });
    await this.pushUsers(accountId);
  }

  // ---- internals ----

  /**
   * Pushes the account's users to every network with a VPN of the account; when all confirmed,
   * `Add` users become `Active` and `Revoke` users go. A failure leaves them as they are.
   */
  private async pushUsers(accountId: number): Promise<void> {
    const vpns = await remoteAccessVpnRepo.list(this.ctx.db, { accountId });
    const settled = await this.ctx.db
      .selectFrom('vpnUsers')
      .select(['id', 'state', 'updatedCount'])
      .where('accountId', '=', accountId)
      .where('state', '!=', 'Active')
      .where('removed', 'is', null)
      .execute();
    for (const vpn of vpns) await this.deps.configurator.apply(vpn.networkId);
    await this.ctx.write(async (w) => {
      // Only the version pushed: a user changed meanwhile waits for its own push.
      for (const u of settled) {
        if (u.state === 'Revoke')
          await w.db.deleteFrom('vpnUsers').where('id', '=', u.id).where('updatedCount', '=', u.updatedCount).execute();
        else
          await w.db
            .updateTable('vpnUsers')
            .set({ state: 'Active', updatedCount: Number(u.updatedCount) + 1 })
            .where('id', '=', u.id)
            .where('updatedCount', '=', u.updatedCount)
            .execute();
      }
    });
  }

  private requireOwner(w: Writer, accountId: number): void {
    if (accountId !== w.caller.accountId && !isRootAdmin(w.caller))
      throw new PermissionDeniedError(`account ${w.caller.accountId} may not change the VPN of account ${accountId}`);
  }

  private async account(w: Writer, accountId: number | undefined): Promise<{ id: number; domainId: number }> {
    const id = accountId ?? w.caller.accountId;
    this.requireOwner(w, id);
    const account = await accountRepo.get(w.db, id, 'accountId');
    return { id: account.id, domainId: account.domainId };
  }

  /** `first-last`: the server's address first, at least one client address, outside the guest CIDR. */
  private parseRange(value: unknown, field: string, net: Network): { first: number; last: number } {
    const parts = typeof value === 'string' ? value.split('-') : [];
    if (parts.length !== 2) throw new InvalidParameterError(field, value, "a range 'first-last' of IPv4 addresses");
    const [a, b] = (parts as [string, string]).map((p) => p.trim()) as [string, string];
    if (!isIpv4(a) || !isIpv4(b))
      throw new InvalidParameterError(field, value, "a range 'first-last' of IPv4 addresses");
    const range = { first: ipv4ToInt(a), last: ipv4ToInt(b) };
    if (range.last <= range.first)
      throw new InvalidParameterError(
        field,
        value,
        'the range needs the server address (its first) and at least one client address',
      );
    if (net.cidr !== null && rangesOverlap(range, parseCidr(net.cidr)))
      throw new InvalidParameterError(field, value, `overlaps the guest CIDR ${net.cidr} of network ${net.name}`);
    return range;
  }

  /** A random key of `remote.access.vpn.psk.length` characters, within the catalog's bounds. */
  private async presharedKey(w: Writer): Promise<string> {
    const def = settingDefinition('remote.access.vpn.psk.length');
    const length = await this.deps.settings.get('remote.access.vpn.psk.length', {}, w.db);
    if (!Number.isInteger(length) || length < (def.min ?? 8) || length > (def.max ?? 256))
      throw new InvalidParameterError(
        'remote.access.vpn.psk.length',
        length,
        `must be ${def.min ?? 8}–${def.max ?? 256}`,
      );
    let key = '';
    for (let i = 0; i < length; i++) key += PSK_ALPHABET[randomInt(PSK_ALPHABET.length)];
    return key;
  }

  /** The VPN's UDP ports on its IP must be free of port-forwarding and LB rules (§8.6). */
  private async checkPorts(w: Writer, ip: IpAllocation): Promise<void> {
    const nat = await w.db
      .selectFrom('staticNats')
      .select('id')
      .where('ipAllocationId', '=', ip.id)
      .where('revoked', '=', 0)
      .executeTakeFirst();
    if (nat) throw new NetworkRuleConflictError('ipId', ip.id, `${ip.ip} has static NAT; it takes no VPN`);
    for (const r of await networkRuleRepo.list(w.db, { ipAllocationId: ip.id })) {
      if (r.purpose === 'Firewall' || r.state === 'Revoke' || r.protocol !== 'udp') continue;
      const port = VPN_UDP_PORTS.find((p) => (r.startPort ?? 0) <= p && p <= (r.endPort ?? r.startPort ?? 0));
      if (port !== undefined)
        throw new NetworkRuleConflictError(
          'ipId',
          ip.id,
          `${r.purpose} rule ${r.uuid} on ${ip.ip} takes UDP port ${port}, which the VPN needs`,
        );
    }
  }
}
