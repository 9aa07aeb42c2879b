import { randomUUID } from 'node:crypto';
import { simulatorDriver } from '@stratus/driver-simulator';
import { onTestFinished } from 'vitest';
import { type Cloud, createCloud } from '../../src/cloud.js';
import { type Clock, issueCaller } from '../../src/context.js';
import { GuestVlanService } from '../../src/ipam/guest-vlans.js';
import { IpAllocator } from '../../src/ipam/ip-allocator.js';
import { PublicIpRangeService } from '../../src/ipam/ip-ranges.js';
import { seededRandom } from '../../src/ipam/random.js';
import type { Zone } from '../../src/model/records.js';
import { createNetworkLayer, type NetworkLayer } from '../../src/network/network-layer.js';
import { VirtualRouterElement } from '../../src/network/virtual-router-element.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { advancedZone } from '../rules/rule-fixtures.js';

/** A controllable clock. */
export class TestClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export interface NetworkWorld {
  cloud: Cloud;
  net: NetworkLayer;
  clock: TestClock;
  zone: Zone;
  physicalNetworkId: number;
  vr: VirtualRouterElement;
  publicRanges: PublicIpRangeService;
  /** A user account (type 0) with its caller. */
  account: { id: number; domainId: number };
  /** A second user account. */
  other: { id: number; domainId: number };
  /** The network layer acting as `accountId`. */
  as(accountId: number, domainId?: number): NetworkLayer;
  /** Inserts a stopped user VM for an account. */
  vm(accountId: number, hostName: string): Promise<number>;
  isolatedOfferingId: number;
}

/**
 * Advanced zone z1 (guest CIDR 10.1.1.0/24) with physical network pn1 (VLANs 500–503, Guest,
 * Public and Management traffic, enabled), public range 203.0.113.10–.29 and two user accounts;
 * the network layer over the same context with a test clock and a sequential VLAN pool.
 */
export async function networkWorld(store?: Store): Promise<NetworkWorld> {
  const clock = new TestClock();
  const cloud = await createCloud({ store: store ?? sqliteStore(), hypervisors: [simulatorDriver()], clock });
  onTestFinished(() => cloud.close());
  const ctx = cloud.context;
  const zone = await advancedZone(cloud);
  const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '500-503' });
  for (const trafficType of ['Guest', 'Public', 'Management'] as const)
    await cloud.physicalNetworks.addTrafficType(pn.id, {
      trafficType,
      labels: { Simulator: `cloudbr-${trafficType}` },
    });
  await cloud.physicalNetworks.enable(pn.id);
  const ips = new IpAllocator(ctx, { random: seededRandom(7) });
  const vlans = new GuestVlanService(ctx, { strategy: 'sequential' });
  const vr = new VirtualRouterElement('VirtualRouter');
  const net = createNetworkLayer(ctx, { ips, vlans, extraElements: [vr] });
  const publicRanges = new PublicIpRangeService(ctx, ips);
  await publicRanges.create({
    zoneId: zone.id,
    gateway: '203.0.113.1',
    netmask: '255.255.255.0',
    startIp: '203.0.113.10',
    endIp: '203.0.113.29',
    vlan: 100,
  });
  const mk = async (name: string) => {
    const { account } = await cloud.tenancy.createAccount({
      accountName: name,
      type: 'NORMAL',
      user: { username: name, password: 'secret-pass-1' },
    });
    return { id: account.id, domainId: account.domainId };
  };
  const account = await mk('alice');
  const other = await mk('bob');
  const offering = await net.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
  return {
    cloud,
    net,
    clock,
    zone,
    physicalNetworkId: pn.id,
    vr,
    publicRanges,
    account,
    other,
    isolatedOfferingId: offering.id,
    as: (accountId, domainId = 1) => net.as(issueCaller({ accountId, userId: accountId, domainId, accountType: 0 })),
    async vm(accountId, hostName) {
      const row = await cloud.store.db
        .insertInto('vmInstances')
        .values({
          uuid: randomUUID(),
          created: clock.now(),
          removed: null,
          instanceName: `i-${accountId}-${hostName}-VM`,
          hostName,
          displayName: hostName,
          type: 'User',
          accountId,
          domainId: 1,
          zoneId: zone.id,
          serviceOfferingId: 1,
          templateId: null,
          hypervisorType: 'Simulator',
          hostId: null,
          lastHostId: null,
          podIdToDeployIn: null,
          haEnabled: 0,
          state: 'Stopped',
          powerState: 'PowerOff',
          details: '{}',
          updatedCount: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    },
  };
}
