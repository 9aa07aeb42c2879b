import { describe, expect, it } from 'vitest';
import { InvalidParameterError, PermissionDeniedError, ResourceLimitError } from '../../src/errors.js';
import { NetworkRuleConflictError } from '../../src/network/network-rule-conflict-error.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { type NetworkWorld, networkWorld } from './network-world.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** An implemented isolated network of `accountId` with one VM; returns it and its source NAT IP. */
async function implemented(w: NetworkWorld, name: string, accountId = w.account.id) {
  const layer = w.as(accountId);
  const net = await layer.networks.create({ zoneId: w.zone.id, name, networkOfferingId: w.isolatedOfferingId });
  const vmId = await w.vm(accountId, `${name}-vm`);
  const nic = await w.cloud.context.write((wr) =>
    layer.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
  );
  await layer.networks.startNic(nic.id);
  const snat = (await layer.publicIps.list({ networkId: net.id })).find((i) => i.sourceNat)!;
  return { layer, net, snat, vmId };
}

/** spec/networking.md §10.1 and pitfall 14. */
describe('remote-access VPN', () => {
  it('pitfall 14: runs on the source NAT IP; the range’s first address is the server’s; a PSK of remote.access.vpn.psk.length', async () => {
    const w = await networkWorld();
    const { layer, net, snat } = await implemented(w, 'n1');
    const events: string[] = [];
    w.cloud.context.bus.on('*', (e) => events.push(e.type));
    const vpn = await layer.vpn.enable({ ipId: snat.id });
    expect(vpn).toMatchObject({
      networkId: net.id,
      ipAllocationId: snat.id,
      state: 'Running',
      localIp: '10.1.2.1',
      ipRange: '10.1.2.2-10.1.2.8',
    });
    expect(vpn.presharedKey).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(events).toContain('VPN.REMOTE.ACCESS.CREATE');
    expect(w.vr.configuration(net.id)!.vpn).toEqual({
      publicIp: snat.ip,
      serverIp: '10.1.2.1',
      clientRange: '10.1.2.2-10.1.2.8',
      presharedKey: vpn.presharedKey,
      guestCidr: net.cidr,
    });

    // The 4.0 guide's key name is an alias of the real one; the PSK length follows its setting.
    await w.cloud.settings.set('remote.access.vpn.client.ip.range', '192.168.77.1-192.168.77.20');
    await w.cloud.settings.set('remote.access.vpn.psk.length', 40);
    const two = await implemented(w, 'n2');
    const vpn2 = await two.layer.vpn.enable({ ipId: two.snat.id });
    expect(vpn2).toMatchObject({ localIp: '192.168.77.1', ipRange: '192.168.77.2-192.168.77.20' });
    expect(vpn2.presharedKey).toHaveLength(40);
  });

  it('pitfall 14: bad VPN input gets a typed error and the store is unchanged', async () => {
    const w = await networkWorld();
    const { layer, net, snat, vmId } = await implemented(w, 'n1');
    const extra = await layer.publicIps.acquire({ networkId: net.id });
    // Not the source NAT IP.
    await expectRejected(w.cloud, () => layer.vpn.enable({ ipId: extra.id }), invalid('ipId', extra.id));
    // The range overlaps the guest CIDR 10.1.1.0/24, is malformed, or has no client address.
    for (const ipRange of ['10.1.1.200-10.1.1.210', '10.1.2.1', '10.1.2.x-10.1.2.9', '10.1.2.9-10.1.2.9']) {
      await expectRejected(w.cloud, () => layer.vpn.enable({ ipId: snat.id, ipRange }), invalid('ipRange', ipRange));
    }
    // Another account's IP.
    const bob = w.as(w.other.id);
    await expectRejected(w.cloud, () => bob.vpn.enable({ ipId: snat.id }), {
      error: PermissionDeniedError,
      code: 'PERMISSION_DENIED',
      httpCode: 401,
      field: undefined as unknown as string,
      value: undefined,
    });
    // Port forwarding on UDP 1701 of the source NAT IP (conserve mode) takes a VPN port.
    await layer.rules.createPortForwarding({
      ipId: snat.id,
      protocol: 'udp',
      publicStartPort: 1700,
      publicEndPort: 1702,
      privateStartPort: 1700,
      vmId,
    });
    await expectRejected(w.cloud, () => layer.vpn.enable({ ipId: snat.id }), {
      error: NetworkRuleConflictError,
      code: 'NETWORK_RULE_CONFLICT',
      httpCode: 537,
      field: 'ipId',
      value: snat.id,
    });
    // One VPN per network.
    const two = await implemented(w, 'n2');
    await two.layer.vpn.enable({ ipId: two.snat.id });
    await expectRejected(w.cloud, () => two.layer.vpn.enable({ ipId: two.snat.id }), invalid('ipId', two.snat.id));
    // Disabling a VPN that is not there.
    await expectRejected(w.cloud, () => layer.vpn.disable(extra.id), invalid('ipId', extra.id));
  });

  it('pitfall 14: VPN users are per account and shared by all its VPNs, at most remote.access.vpn.user.limit', async () => {
    const w = await networkWorld();
    const n1 = await implemented(w, 'n1');
    const n2 = await implemented(w, 'n2');
    const nb = await implemented(w, 'nb', w.other.id);
    await n1.layer.vpn.enable({ ipId: n1.snat.id });
    await n2.layer.vpn.enable({ ipId: n2.snat.id });
    await nb.layer.vpn.enable({ ipId: nb.snat.id });
    const events: string[] = [];
    w.cloud.context.bus.on('*', (e) => events.push(e.type));

    const carol = await n1.layer.vpn.addUser({ username: 'carol', password: 'pw-carol1' });
    expect(carol).toMatchObject({ username: 'carol', accountId: w.account.id, state: 'Active' });
    expect(carol).not.toHaveProperty('password');
    for (const net of [n1.net, n2.net])
      expect(w.vr.configuration(net.id)!.vpnUsers).toEqual([{ username: 'carol', password: 'pw-carol1' }]);
    expect(w.vr.configuration(nb.net.id)!.vpnUsers).toEqual([]);
    expect(events).toContain('VPN.USER.ADD');

    // Username and password rules; a duplicate; the limit.
    for (const username of ['ab', '-carl', 'has space', 'x'.repeat(65)])
      await expectRejected(
        w.cloud,
        () => n1.layer.vpn.addUser({ username, password: 'pw-123' }),
        invalid('username', username),
      );
    await expectRejected(
      w.cloud,
      () => n1.layer.vpn.addUser({ username: 'dave', password: 'p w' }),
      invalid('password', '(hidden)'),
    );
    await expectRejected(
      w.cloud,
      () => n1.layer.vpn.addUser({ username: 'carol', password: 'other-pw' }),
      invalid('username', 'carol'),
    );
    await w.cloud.settings.set('remote.access.vpn.user.limit', 2);
    await n1.layer.vpn.addUser({ username: 'dave', password: 'pw-dave1' });
    await expectRejected(w.cloud, () => n1.layer.vpn.addUser({ username: 'erin', password: 'pw-erin1' }), {
      error: ResourceLimitError,
      code: 'ACCOUNT_RESOURCE_LIMIT',
      httpCode: 532,
      field: 'accountId',
      value: w.account.id,
    });
    // Bob's users are his own: the same name is fine in another account.
    await nb.layer.vpn.addUser({ username: 'carol', password: 'pw-bob-c' });
    expect(w.vr.configuration(nb.net.id)!.vpnUsers).toEqual([{ username: 'carol', password: 'pw-bob-c' }]);

    await n1.layer.vpn.removeUser({ username: 'carol' });
    expect(events).toContain('VPN.USER.REMOVE');
    for (const net of [n1.net, n2.net])
      expect(w.vr.configuration(net.id)!.vpnUsers).toEqual([{ username: 'dave', password: 'pw-dave1' }]);
    expect((await n1.layer.vpn.listUsers({ accountId: w.account.id })).map((u) => u.username)).toEqual(['dave']);
    expect(w.vr.configuration(nb.net.id)!.vpnUsers).toHaveLength(1);
  });

  it('disable: Removed until the router confirmed, then gone; a network shut down gets its VPN back at implement', async () => {
    const w = await networkWorld();
    const { layer, net, snat } = await implemented(w, 'n1');
    const vpn = await layer.vpn.enable({ ipId: snat.id });
    await layer.vpn.addUser({ username: 'carol', password: 'pw-carol1' });
    // Shutdown removes device state only; the next implement re-applies the VPN (pitfall 12).
    await w.cloud.context.write(async (wr) => {
      await wr.db.updateTable('nics').set({ state: 'Allocated' }).where('networkId', '=', net.id).execute();
    });
    await layer.networks.shutdown(net.id);
    expect(w.vr.configuration(net.id)).toBeUndefined();
    expect((await layer.vpn.forNetwork(net.id))?.state).toBe('Running');
    await layer.networks.implement(net.id);
    expect(w.vr.configuration(net.id)!.vpn?.presharedKey).toBe(vpn.presharedKey);
    expect(w.vr.configuration(net.id)!.vpnUsers).toHaveLength(1);

    const events: string[] = [];
    w.cloud.context.bus.on('*', (e) => events.push(e.type));
    await layer.vpn.disable(snat.id);
    expect(events).toContain('VPN.REMOTE.ACCESS.DESTROY');
    expect(await layer.vpn.forNetwork(net.id)).toBeUndefined();
    expect(w.vr.configuration(net.id)!.vpn).toBeNull();
    expect(w.vr.configuration(net.id)!.vpnUsers).toEqual([]);
    // The users stay with the account.
    expect(await layer.vpn.listUsers()).toHaveLength(1);
  });
});
