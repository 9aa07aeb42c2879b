import { describe, expect, it } from 'vitest';
import { issueCaller } from '../../src/context.js';
import type { StaticNatConfig } from '../../src/driver/network-device-driver.js';
import { createNetworkLayer, type NetworkLayer } from '../../src/network/network-layer.js';
import { VirtualRouterElement } from '../../src/network/virtual-router-element.js';
import { snapshot } from '../rules/store-snapshot.js';
import { type NetworkWorld, networkWorld } from './network-world.js';

type ApplyCall = 'applyIps' | 'applyFirewallRules' | 'applyPortForwardingRules' | 'applyStaticNats';

/**
 * A `VirtualRouter` element in front of a real one that fails the next `n` calls of a method (a
 * device timing out mid-change) and records every static-NAT payload, as a full-set device sees it.
 */
class FlakyRouter {
  readonly inner = new VirtualRouterElement('VirtualRouter');
  readonly failures = new Map<ApplyCall, number>();
  readonly staticNatPayloads: StaticNatConfig[][] = [];
  readonly element: VirtualRouterElement;

  constructor() {
    this.element = new Proxy(this.inner, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (prop === 'applyStaticNats') this.staticNatPayloads.push(structuredClone(args[1] as StaticNatConfig[]));
          const left = this.failures.get(prop as ApplyCall) ?? 0;
          if (left > 0) {
            this.failures.set(prop as ApplyCall, left - 1);
            throw new Error(`device error in ${String(prop)}`);
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  failNext(call: ApplyCall, times = 1): void {
    this.failures.set(call, times);
  }
}

/** An implemented network of alice with one VM, on a layer whose VirtualRouter is flaky. */
async function flakyWorld(): Promise<{
  w: NetworkWorld;
  router: FlakyRouter;
  layer: NetworkLayer;
  net: { id: number };
  vmId: number;
}> {
  const w = await networkWorld();
  const router = new FlakyRouter();
  const d = w.net.deps;
  const base = createNetworkLayer(w.cloud.context, {
    ips: d.ips,
    vlans: d.vlans,
    guestRanges: d.guestRanges,
    macs: d.macs,
    extraElements: [router.element],
  });
  const layer = base.as(
    issueCaller({ accountId: w.account.id, userId: w.account.id, domainId: w.account.domainId, accountType: 0 }),
  );
  const net = await layer.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
  const vmId = await w.vm(w.account.id, 'web1');
  const nic = await w.cloud.context.write((wr) =>
    layer.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
  );
  await layer.networks.startNic(nic.id);
  return { w, router, layer, net, vmId };
}

/** spec/networking.md §13.1, drivers.md §6.2, pitfall 16. */
describe('device idempotency and partial failure', () => {
  it('pitfall 16: a failed apply leaves the intent (Add / Revoke) in the store; the next apply converges; applying twice is harmless', async () => {
    const { w, router, layer, net } = await flakyWorld();
    const ip = await layer.publicIps.acquire({ networkId: net.id });

    router.failNext('applyFirewallRules');
    await expect(layer.rules.createFirewallRule({ ipId: ip.id, protocol: 'tcp', startPort: 22 })).rejects.toThrow(
      /device error/,
    );
    const [rule] = await layer.rules.list({ networkId: net.id, purpose: 'Firewall' });
    expect(rule?.state).toBe('Add');
    expect(router.inner.configuration(net.id)!.firewall).toEqual([]);

    expect(await layer.deps.configurator.apply(net.id)).toBe(true);
    expect((await layer.rules.list({ networkId: net.id }))[0]?.state).toBe('Active');
    expect(router.inner.configuration(net.id)!.firewall).toMatchObject([{ publicIp: ip.ip, portStart: 22 }]);

    // Applying again changes nothing, in the store or on the device.
    const before = await snapshot(w.cloud.store);
    const config = router.inner.configuration(net.id)!;
    await layer.deps.configurator.apply(net.id);
    expect(await snapshot(w.cloud.store)).toEqual(before);
    expect({ ...router.inner.configuration(net.id)!, revision: 0 }).toEqual({ ...config, revision: 0 });

    // A revoke that fails stays Revoke (not deleted); the retry removes it from device and store.
    router.failNext('applyFirewallRules');
    await expect(layer.rules.deleteRule(rule!.id)).rejects.toThrow(/device error/);
    expect((await layer.rules.list({ networkId: net.id }))[0]?.state).toBe('Revoke');
    expect(router.inner.configuration(net.id)!.firewall).toHaveLength(1);
    await layer.deps.configurator.apply(net.id);
    expect(await layer.rules.list({ networkId: net.id })).toEqual([]);
    expect(router.inner.configuration(net.id)!.firewall).toEqual([]);
  });

  it('pitfall 16: an IP whose association fails stays Allocating and becomes Allocated at the retry', async () => {
    const { router, layer, net } = await flakyWorld();
    router.failNext('applyIps');
    await expect(layer.publicIps.acquire({ networkId: net.id })).rejects.toThrow(/device error/);
    const ip = (await layer.publicIps.list({ networkId: net.id })).find((i) => !i.sourceNat)!;
    expect(ip.state).toBe('Allocating');
    await layer.deps.configurator.apply(net.id);
    expect((await layer.publicIps.get(ip.id)).state).toBe('Allocated');
    expect(router.inner.configuration(net.id)!.publicIps.map((i) => i.ip)).toContain(ip.ip);
  });

  it('pitfall 16: a removed static NAT reaches full-set devices as revoked: true until they confirm, then is deleted', async () => {
    const { w, router, layer, net, vmId } = await flakyWorld();
    const ip = await layer.publicIps.acquire({ networkId: net.id });
    await layer.rules.enableStaticNat({ ipId: ip.id, vmId });
    const privateIp = router.inner.configuration(net.id)!.staticNat[0]!.privateIp;
    expect(router.staticNatPayloads.at(-1)).toEqual([
      { publicIp: ip.ip, privateIp, revoked: false, publicVlanTag: 100 },
    ]);

    router.failNext('applyStaticNats');
    await expect(layer.rules.disableStaticNat(ip.id)).rejects.toThrow(/device error/);
    const revoked = { publicIp: ip.ip, privateIp, revoked: true, publicVlanTag: 100 };
    expect(router.staticNatPayloads.at(-1)).toEqual([revoked]);
    // The intent stays: a revoked row, not a live mapping, and not yet deleted.
    const rows = await w.cloud.store.db.selectFrom('staticNats').select(['revoked']).execute();
    expect(rows.map((r) => Number(r.revoked))).toEqual([1]);
    expect(await layer.rules.listStaticNats(net.id)).toEqual([]);

    await layer.deps.configurator.apply(net.id);
    expect(router.staticNatPayloads.at(-1)).toEqual([revoked]);
    expect(router.inner.configuration(net.id)!.staticNat).toEqual([]);
    expect(await w.cloud.store.db.selectFrom('staticNats').selectAll().execute()).toEqual([]);
    // Sent once after the confirmation: the next push no longer carries it.
    await layer.deps.configurator.apply(net.id);
    expect(router.staticNatPayloads.at(-1)).toEqual([]);

    // Releasing an IP with static NAT sends the revocation too, then frees the IP.
    await layer.rules.enableStaticNat({ ipId: ip.id, vmId });
    await layer.publicIps.release(ip.id);
    expect(router.staticNatPayloads.at(-1)).toEqual([revoked]);
    expect(await w.cloud.store.db.selectFrom('staticNats').selectAll().execute()).toEqual([]);
  });
});
