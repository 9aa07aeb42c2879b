import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** One test covering (part of) a pitfall: its file under packages/core/test and its exact title. */
interface Coverage {
  file: string;
  test: string;
}

/**
 * spec/networking.md §15: for each of the 18 pitfalls, the tests that cover it. The test below
 * proves every named test exists in its file, so this table cannot rot.
 */
const PITFALL_TESTS: Readonly<Record<number, { pitfall: string; tests: Coverage[]; note?: string }>> = {
  1: {
    pitfall: 'Duplicate addresses: unique constraints plus compare-and-set, across processes',
    tests: [
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 1: a requested address already held is refused (DuplicateError); release is idempotent',
      },
      { file: 'ipam-store.test.ts', test: 'pitfall 1: the unique index stops a second process whose index is stale' },
      {
        file: 'ipam-postgres.test.ts',
        test: 'two processes exhaust one public range: no duplicates, exactly range-size successes',
      },
    ],
  },
  2: {
    pitfall: 'A VLAN is owned by one network of one account; taken at implement, returned at GC',
    tests: [
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 2: a held VLAN is never handed to another account, dedicated VLANs stay with their account',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'two accounts never share a VLAN; a released VLAN returns to the pool',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'designs Allocated without a VLAN; implements lazily at the first VM start; reserves and releases NICs',
      },
    ],
  },
  3: {
    pitfall: 'Physical networks start Disabled; disabling blocks only new networks',
    tests: [
      {
        file: 'state-machines.test.ts',
        test: 'physical networks and network offerings start Disabled; projects Active; accounts enabled',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'disabling the physical network leaves running networks implemented (pitfall 3)',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'rejects networks on a disabled offering, on a disabled physical network, and a CIDR wider than network.guest.cidr.limit',
      },
    ],
  },
  4: {
    pitfall: 'Basic vs advanced zones validated at creation; no mixing',
    tests: [
      { file: 'rules/physical-network-rules.test.ts', test: 'a basic zone has exactly one physical network' },
      { file: 'rules/zone-rules.test.ts', test: 'a basic zone has no zone guest CIDR' },
      { file: 'rules/zone-rules.test.ts', test: 'an advanced zone needs a guest CIDR, and a well-formed one' },
      {
        file: 'network/offerings-and-zones.test.ts',
        test: 'an advanced zone needs Guest/Public/Management traffic, a VLAN range on its guest physical network and a public range',
      },
      {
        file: 'network/offerings-and-zones.test.ts',
        test: 'a basic zone needs one physical network without VLAN ranges and a guest range in every pod',
      },
      { file: 'network/offerings-and-zones.test.ts', test: 'isolated networks are refused in a basic zone' },
    ],
  },
  5: {
    pitfall: 'Management IPs unique cloud-wide, outside host addresses; public ranges never overlap across zones',
    tests: [
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 5: public ranges never overlap, in any zone, nor pod management ranges',
      },
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 5: management IPs are unique cloud-wide and come from the pod reserved range',
      },
      {
        file: 'rules/host-rules.test.ts',
        test: "a host's management IP lies outside every pod's reserved system range",
      },
      { file: 'rules/pod-rules.test.ts', test: 'reserved system ranges never overlap, cloud-wide (across zones)' },
    ],
  },
  6: {
    pitfall: 'Never network, broadcast or gateway; the external-LB self-IP reserved first',
    tests: [
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 6: never network, broadcast or gateway; bad range input is refused',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'an external LB offering reserves the second guest address at design, before any guest can take it (pitfall 6)',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'a requested guest address that is the gateway, network or broadcast address is refused',
      },
    ],
  },
  7: {
    pitfall: 'Link-local control is 169.254.0.0/16; VMware routers use management IPs',
    tests: [
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 7: link-local control addresses come from 169.254.0.0/16, never .0.0, .0.1 or the broadcast',
      },
    ],
    note: 'The VMware half has no subject yet: the virtual router is configuration data, with no router VM to address.',
  },
  8: {
    pitfall: 'Static NAT exclusive with PF and LB, refused on the source-NAT IP, default network only',
    tests: [
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'the source NAT IP is not releasable and cannot be static-NATed (pitfall 8)',
      },
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'static NAT is exclusive with port forwarding and LB on one IP, one per VM address, default network only',
      },
    ],
  },
  9: {
    pitfall: 'One service per IP without conserve mode; a VPC source-NAT IP carries nothing else',
    tests: [
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'conserve mode: PF + LB on one IP only in conserve mode; the source NAT IP carries PF only in conserve mode (pitfall 9)',
      },
      {
        file: 'network/vpc.test.ts',
        test: 'public IPs bind to a tier at the first rule; the VPC source NAT IP carries nothing else; IPs stay after tier removal; delete only without tiers',
      },
    ],
  },
  10: {
    pitfall: 'Inbound denied until a firewall rule; egress rules allow under deny, deny under allow',
    tests: [
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'acquire on an implemented network is Allocated at once; inbound is denied until a firewall rule exists',
      },
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'egress rules by CIDR on the network; firewall rules by CIDR with validated ports',
      },
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'pitfall 10: under an allow egress default, egress rules are deny rules (new offerings allow)',
      },
    ],
  },
  11: {
    pitfall:
      'Security groups: egress flip, fixed membership, edits reach stopped VMs, group references follow membership',
    tests: [
      {
        file: 'network/security-groups.test.ts',
        test: 'the first egress rule flips egress to an allow-list; DNS and DHCP still pass',
      },
      {
        file: 'network/security-groups.test.ts',
        test: "membership is fixed at deploy; groups must be the VM's account's",
      },
      {
        file: 'network/security-groups.test.ts',
        test: "rules naming another account's group follow that group's membership; edits reach stopped members",
      },
    ],
  },
  12: {
    pitfall: 'Network shutdown keeps rules, IP associations and the source-NAT IP; re-applied at implement',
    tests: [
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'GC shutdown keeps rules and IP associations in the store and re-applies them at the next implement (pitfall 12)',
      },
      {
        file: 'network/guest-network-lifecycle.test.ts',
        test: 'GC marks an idle network, shuts it down after network.gc.wait, keeps the source NAT IP and re-implements with a VLAN again',
      },
      {
        file: 'network/remote-access-vpn.test.ts',
        test: 'disable: Removed until the router confirmed, then gone; a network shut down gets its VPN back at implement',
      },
    ],
  },
  13: {
    pitfall: 'Public IP release revokes every rule first and waits in Releasing',
    tests: [
      {
        file: 'network/public-ip-rules.test.ts',
        test: 'release revokes every rule first, waits in Releasing for the providers, then frees the IP (pitfall 13)',
      },
      {
        file: 'ipam-store.test.ts',
        test: 'pitfall 13: a public IP is freed only through Releasing; ranges with allocations cannot be deleted',
      },
    ],
  },
  14: {
    pitfall: "Remote-access VPN: the range's first address is the server's; users per account; the real key name",
    tests: [
      {
        file: 'network/remote-access-vpn.test.ts',
        test: 'pitfall 14: runs on the source NAT IP; the range’s first address is the server’s; a PSK of remote.access.vpn.psk.length',
      },
      {
        file: 'network/remote-access-vpn.test.ts',
        test: 'pitfall 14: bad VPN input gets a typed error and the store is unchanged',
      },
      {
        file: 'network/remote-access-vpn.test.ts',
        test: 'pitfall 14: VPN users are per account and shared by all its VPNs, at most remote.access.vpn.user.limit',
      },
    ],
  },
  15: {
    pitfall:
      'VPC: RFC 1918 super CIDR, tiers inside without overlap, ≤ 3 tiers, one LB tier, IPs stay, delete without tiers',
    tests: [
      { file: 'network/vpc.test.ts', test: 'takes its source NAT IP at creation; the super CIDR must be RFC 1918' },
      {
        file: 'network/vpc.test.ts',
        test: 'tiers lie inside the super CIDR without overlap, at most vpc.max.networks (3), one LB tier',
      },
      {
        file: 'network/vpc.test.ts',
        test: 'public IPs bind to a tier at the first rule; the VPC source NAT IP carries nothing else; IPs stay after tier removal; delete only without tiers',
      },
    ],
  },
  16: {
    pitfall: 'Device idempotency; a partial failure leaves the DB intent unchanged and retries',
    tests: [
      {
        file: 'network/device-idempotency.test.ts',
        test: 'pitfall 16: a failed apply leaves the intent (Add / Revoke) in the store; the next apply converges; applying twice is harmless',
      },
      {
        file: 'network/device-idempotency.test.ts',
        test: 'pitfall 16: an IP whose association fails stays Allocating and becomes Allocated at the retry',
      },
      {
        file: 'network/device-idempotency.test.ts',
        test: 'pitfall 16: a removed static NAT reaches full-set devices as revoked: true until they confirm, then is deleted',
      },
    ],
  },
  17: {
    pitfall: 'vSphere never removes port groups; KVM/XenServer remove per-host VLAN bridges after the last VM leaves',
    tests: [
      {
        file: 'network/vlan-bridge-cleanup.test.ts',
        test: 'pitfall 17: KVM removes a host’s VLAN bridge when the last VM using it stops or migrates away',
      },
      {
        file: 'network/vlan-bridge-cleanup.test.ts',
        test: 'pitfall 17: vSphere never removes port groups, even when no VM uses them',
      },
    ],
  },
  18: {
    pitfall: 'Traffic labels per (physical network, traffic type, hypervisor); a second hypervisor needs its own',
    tests: [
      {
        file: 'network/offerings-and-zones.test.ts',
        test: 'an advanced zone needs Guest/Public/Management traffic, a VLAN range on its guest physical network and a public range',
      },
      {
        file: 'rules/physical-network-rules.test.ts',
        test: 'isolation methods and traffic-label hypervisors are ones CloudStack knows',
      },
    ],
  },
};

const testRoot = fileURLToPath(new URL('..', import.meta.url));

/** Whether `source` declares a test (`it(` / `test(`) with exactly this title, in any quote style. */
function declaresTest(source: string, title: string): boolean {
  return ["'", '"', '`'].some((q) => {
    const quoted = q === "'" ? title.replaceAll("'", "\\'") : title;
    return source.includes(`it(${q}${quoted}${q}`) || source.includes(`test(${q}${quoted}${q}`);
  });
}

describe('pitfalls index (spec/networking.md §15)', () => {
  it('names a test for each of the 18 pitfalls', () => {
    expect(Object.keys(PITFALL_TESTS).map(Number)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    for (const entry of Object.values(PITFALL_TESTS)) expect(entry.tests.length).toBeGreaterThan(0);
  });

  it.each(Object.entries(PITFALL_TESTS))('pitfall %s: every named test exists in its file', (_n, entry) => {
    for (const { file, test } of entry.tests) {
      const source = readFileSync(`${testRoot}${file}`, 'utf8');
      expect(declaresTest(source, test), `${file}: "${test}"`).toBe(true);
    }
  });
});
