/**
 * The network-device conformance suite (drivers.md §6.2): what every firewall driver must do, run against its
 * device or an honest fake. Steps run in order in one `describe`, each checking the device's committed state (the
 * fixture's {@link FirewallDeviceView}) against what the rules applied so far prescribe: implement/shutdown
 * idempotency, full-set convergence of each rule type, revoke, a re-run after a refused commit, session loss mid-call
 * (before the load, and after a commit whose reply was lost), usage counters, bad input refused with nothing changed.
 */
import {
  DriverError,
  type FirewallDevice,
  type FirewallRuleConfig,
  type GuestNetworkConfig,
  InvalidParameterError,
  type PortForwardingConfig,
  type StaticNatConfig,
} from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirewallDeviceView } from './network-device-view.js';

export type { FirewallDeviceView } from './network-device-view.js';

/** What a firewall driver's test gives the suite. */
export interface FirewallDeviceFixture {
  /** Shown in the test names. */
  name: string;
  /** A fresh, empty device (or fake) and the driver's device object on it. */
  open(): Promise<FirewallDevice>;
  /** The device's committed state. */
  view(): Promise<FirewallDeviceView>;
  /** The next commit is refused by the device with a message containing `injected`; nothing of it is applied. */
  refuseNextCommit(): void;
  /** The connection drops when the next configuration load arrives (nothing of it applied). */
  dropOnNextLoad(): void;
  /** The next commit is applied, then the connection drops before its reply. */
  dropAfterNextCommit(): void;
  /** Cumulative traffic of a public IP as the device's counters will report it. */
  setTraffic(publicIp: string, bytesReceived: number, bytesSent: number): Promise<void>;
  /** Stop the device or fake. */
  close(): Promise<void>;
}

const netA: GuestNetworkConfig = {
  guestVlanTag: 101,
  gateway: '10.1.1.1',
  cidr: '10.1.1.0/24',
  sourceNatIp: '198.51.100.10',
  inline: false,
  networkRateMbps: 0,
};
const netB: GuestNetworkConfig = {
  guestVlanTag: 102,
  gateway: '10.1.2.1',
  cidr: '10.1.2.0/24',
  sourceNatIp: '198.51.100.11',
  inline: false,
  networkRateMbps: 0,
};

const ingress = (id: string, publicIp: string, o: Partial<FirewallRuleConfig>): FirewallRuleConfig => ({
  id,
  publicIp,
  protocol: 'tcp',
  sourceCidrs: ['0.0.0.0/0'],
  direction: 'ingress',
  revoked: false,
  ...o,
});
const sorted = <T>(xs: T[]): T[] => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Run the suite for one firewall driver. */
export function firewallDeviceConformanceSuite(fixture: FirewallDeviceFixture): void {
  describe(`firewall device conformance: ${fixture.name}`, () => {
    let device: FirewallDevice;
    const expectView = async (want: Omit<FirewallDeviceView, 'leftovers'>): Promise<void> => {
      const got = await fixture.view();
      expect({
        networks: sorted(got.networks),
        staticNats: sorted(got.staticNats.map((x) => ({ ...x, allowed: sorted(x.allowed) }))),
        portForwards: sorted(got.portForwards),
        ingress: sorted(got.ingress),
        egress: sorted(got.egress),
        leftovers: got.leftovers,
      }).toEqual({
        networks: sorted(want.networks),
        staticNats: sorted(want.staticNats.map((x) => ({ ...x, allowed: sorted(x.allowed) }))),
        portForwards: sorted(want.portForwards),
        ingress: sorted(want.ingress),
        egress: sorted(want.egress),
        leftovers: [],
      });
    };
    const nets = [
      { vlan: 101, address: '10.1.1.1/24', zone: 'trust', sourceNatIp: '198.51.100.10', proxyArp: true },
      { vlan: 102, address: '10.1.2.1/24', zone: 'trust', sourceNatIp: '198.51.100.11', proxyArp: true },
    ];
    const egressDefault = (vlan: number, action: 'permit' | 'deny' = 'permit') => ({
      vlan,
      policies: [{ protocol: 'all', action }],
    });
    let state: Omit<FirewallDeviceView, 'leftovers'>;

    beforeAll(async () => {
      device = await fixture.open();
    });
    afterAll(async () => {
      await device?.close();
      await fixture.close();
    });

    it('implements a guest network, twice, with the same result', async () => {
      await device.implementGuestNetwork(netA);
      await device.implementGuestNetwork(netA);
      state = {
        networks: [nets[0] as FirewallDeviceView['networks'][number]],
        staticNats: [],
        portForwards: [],
        ingress: [],
        egress: [egressDefault(101)],
      };
      await expectView(state);
      await device.implementGuestNetwork(netB);
      state = { ...state, networks: nets, egress: [egressDefault(101), egressDefault(102)] };
      await expectView(state);
    });

    it('refuses bad input with a typed error and changes nothing', async () => {
      await expect(
        device.implementGuestNetwork({ ...netA, guestVlanTag: 103, gateway: '10.9.9.1' }),
      ).rejects.toBeInstanceOf(InvalidParameterError);
      await expect(
        device.applyStaticNat([{ publicIp: '198.51.100.300', privateIp: '10.1.1.5', revoked: false }]),
      ).rejects.toBeInstanceOf(InvalidParameterError);
      await expectView(state);
    });

    it('converges ingress firewall rules per public IP (full set, revoke)', async () => {
      const ip = '198.51.100.10';
      await device.applyFirewallRules([
        ingress('fw-1', ip, { portStart: 22, portEnd: 22, sourceCidrs: ['203.0.113.0/24'] }),
        ingress('fw-2', ip, { protocol: 'icmp', icmpType: 8, icmpCode: -1 }),
      ]);
      const ssh = { publicIp: ip, protocol: 'tcp', ports: '22-22', sources: ['203.0.113.0/24'], counted: true };
      const ping = { publicIp: ip, protocol: 'icmp', ports: 'icmp 8/any', sources: ['0.0.0.0/0'], counted: true };
      state = { ...state, ingress: [ssh, ping] };
      await expectView(state);
      await device.applyFirewallRules([
        ingress('fw-1', ip, { portStart: 22, portEnd: 22, sourceCidrs: ['203.0.113.0/24'] }),
        ingress('fw-2', ip, { protocol: 'icmp', icmpType: 8, icmpCode: -1, revoked: true }),
        ingress('fw-3', ip, { protocol: 'udp', portStart: 5000, portEnd: 5010 }),
      ]);
      state = {
        ...state,
        ingress: [ssh, { publicIp: ip, protocol: 'udp', ports: '5000-5010', sources: ['0.0.0.0/0'], counted: true }],
      };
      await expectView(state);
    });

    it('converges static NAT: nothing allowed in without a firewall rule, the rules allowed, moved, revoked', async () => {
      const sn: StaticNatConfig = { publicIp: '198.51.100.20', privateIp: '10.1.1.5', revoked: false };
      await device.applyStaticNat([sn]);
      await device.applyStaticNat([sn]);
      const entry = { publicIp: sn.publicIp, privateIp: sn.privateIp, allowed: [], proxyArp: true, hairpin: true };
      state = { ...state, staticNats: [entry] };
      await expectView(state);
      const rdp = ingress('fw-20', sn.publicIp, {
        portStart: 3389,
        portEnd: 3389,
        sourceCidrs: ['192.0.2.0/24', '203.0.113.7/32'],
      });
      await device.applyFirewallRules([rdp]);
      const allowed = [{ protocol: 'tcp', ports: '3389-3389', sources: ['192.0.2.0/24', '203.0.113.7/32'] }];
      const rdpTerm = {
        publicIp: sn.publicIp,
        protocol: 'tcp',
        ports: '3389-3389',
        sources: ['192.0.2.0/24', '203.0.113.7/32'],
        counted: true,
      };
      state = { ...state, staticNats: [{ ...entry, allowed }], ingress: [...state.ingress, rdpTerm] };
      await expectView(state);
      await device.applyStaticNat([
        { ...sn, revoked: true },
        { publicIp: sn.publicIp, privateIp: '10.1.1.7', revoked: false },
      ]);
      state = { ...state, staticNats: [{ ...entry, privateIp: '10.1.1.7', allowed }] };
      await expectView(state);
      await device.applyStaticNat([{ publicIp: sn.publicIp, privateIp: '10.1.1.7', revoked: true }]);
      state = { ...state, staticNats: [] };
      await expectView(state);
      await device.applyFirewallRules([{ ...rdp, revoked: true }]);
      state = { ...state, ingress: state.ingress.filter((r) => r !== rdpTerm) };
      await expectView(state);
    });

    it('converges port forwarding per (public, private) pair: ranges, revoke', async () => {
      const pf = (o: Partial<PortForwardingConfig>): PortForwardingConfig => ({
        publicIp: '198.51.100.10',
        publicPortStart: 8080,
        publicPortEnd: 8081,
        privateIp: '10.1.1.6',
        privatePortStart: 80,
        privatePortEnd: 81,
        protocol: 'tcp',
        revoked: false,
        ...o,
      });
      const dns = pf({
        publicPortStart: 53,
        publicPortEnd: 53,
        privatePortStart: 53,
        privatePortEnd: 53,
        protocol: 'udp',
      });
      await device.applyPortForwarding([pf({}), dns]);
      await device.applyPortForwarding([pf({}), dns]);
      const row = (publicPort: number, privatePort: number, protocol = 'tcp') => ({
        publicIp: '198.51.100.10',
        publicPort,
        protocol,
        privateIp: '10.1.1.6',
        privatePort,
        policy: true,
        proxyArp: true,
      });
      state = { ...state, portForwards: [row(8080, 80), row(8081, 81), row(53, 53, 'udp')] };
      await expectView(state);
      await device.applyPortForwarding([pf({ revoked: true }), dns]);
      state = { ...state, portForwards: [row(53, 53, 'udp')] };
      await expectView(state);
    });

    it('converges egress rules under the default policy, the default last', async () => {
      const eg = (id: string, o: Partial<FirewallRuleConfig>): FirewallRuleConfig => ({
        id,
        publicIp: '198.51.100.10',
        protocol: 'tcp',
        sourceCidrs: [],
        direction: 'egress',
        revoked: false,
        guestVlanTag: 101,
        guestCidr: '10.1.1.0/24',
        defaultEgressAllow: true,
        ...o,
      });
      await device.applyFirewallRules([eg('eg-1', { portStart: 25, portEnd: 25 })]);
      state = {
        ...state,
        egress: [
          {
            vlan: 101,
            policies: [
              { protocol: 'tcp', ports: '25-25', action: 'deny' },
              { protocol: 'all', action: 'permit' },
            ],
          },
          egressDefault(102),
        ],
      };
      await expectView(state);
      await device.applyFirewallRules([
        eg('eg-1', { portStart: 25, portEnd: 25, revoked: true, defaultEgressAllow: false }),
        eg('eg-2', { portStart: 443, portEnd: 443, defaultEgressAllow: false }),
      ]);
      state = {
        ...state,
        egress: [
          {
            vlan: 101,
            policies: [
              { protocol: 'tcp', ports: '443-443', action: 'permit' },
              { protocol: 'all', action: 'deny' },
            ],
          },
          egressDefault(102),
        ],
      };
      await expectView(state);
    });

    it('a refused commit changes nothing, fails with the device message, and a re-run converges', async () => {
      const sn: StaticNatConfig = { publicIp: '198.51.100.21', privateIp: '10.1.2.5', revoked: false };
      fixture.refuseNextCommit();
      const err = await device.applyStaticNat([sn]).catch((e: unknown) => e);
      expect(DriverError.is(err, 'DeviceError')).toBe(true);
      expect((err as DriverError).vendorMessage).toMatch(/injected/);
      await expectView(state);
      await device.applyStaticNat([sn]);
      state = {
        ...state,
        staticNats: [{ publicIp: sn.publicIp, privateIp: sn.privateIp, allowed: [], proxyArp: true, hairpin: true }],
      };
      await expectView(state);
    });

    it('survives session loss mid-call: before the load, and after a commit whose reply was lost', async () => {
      const ip = '198.51.100.21';
      fixture.dropOnNextLoad();
      await device.applyFirewallRules([ingress('fw-9', ip, { portStart: 80, portEnd: 80 })]);
      const web = { publicIp: ip, protocol: 'tcp', ports: '80-80', sources: ['0.0.0.0/0'], counted: true };
      // .21 is static NAT'd (previous step): its rules are what the device lets in
      const staticOf = (allowed: Array<{ protocol: string; ports?: string; sources: string[] }>) =>
        state.staticNats.map((x) => (x.publicIp === ip ? { ...x, allowed } : x));
      const http = { protocol: 'tcp', ports: '80-80', sources: ['0.0.0.0/0'] };
      state = { ...state, ingress: [...state.ingress, web], staticNats: staticOf([http]) };
      await expectView(state);
      fixture.dropAfterNextCommit();
      await device.applyFirewallRules([
        ingress('fw-9', ip, { portStart: 80, portEnd: 80 }),
        ingress('fw-10', ip, { portStart: 443, portEnd: 443 }),
      ]);
      state = {
        ...state,
        ingress: [...state.ingress, { ...web, ports: '443-443' }],
        staticNats: staticOf([http, { ...http, ports: '443-443' }]),
      };
      await expectView(state);
    });

    it('reports cumulative usage per public IP', async () => {
      await fixture.setTraffic('198.51.100.10', 5000, 7000);
      await fixture.setTraffic('198.51.100.21', 100, 300);
      const usage = await device.getUsage();
      const byIp = new Map(usage.map((u) => [u.ref, u]));
      expect(byIp.get('198.51.100.10')).toEqual({
        kind: 'publicIp',
        ref: '198.51.100.10',
        bytesReceived: 5000,
        bytesSent: 7000,
      });
      expect(byIp.get('198.51.100.21')).toEqual({
        kind: 'publicIp',
        ref: '198.51.100.21',
        bytesReceived: 100,
        bytesSent: 300,
      });
      expect((await device.ping()).reachable).toBe(true);
    });

    it('shuts networks down (twice), taking their NAT and rules along, leaving nothing behind', async () => {
      await device.shutdownGuestNetwork(netB);
      await device.shutdownGuestNetwork(netB);
      state = {
        networks: [nets[0] as FirewallDeviceView['networks'][number]],
        staticNats: [],
        portForwards: state.portForwards,
        ingress: state.ingress.filter((r) => r.publicIp !== '198.51.100.21'),
        egress: state.egress.filter((x) => x.vlan !== 102),
      };
      await expectView(state);
      await device.shutdownGuestNetwork(netA);
      await expectView({ networks: [], staticNats: [], portForwards: [], ingress: [], egress: [] });
    });
  });
}
