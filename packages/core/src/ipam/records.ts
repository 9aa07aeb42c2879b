import type { PublicIpState } from '../model/state-machines/public-ip.js';
import { decoder } from '../store/codec.js';

/**
 * The address spaces of spec/networking.md §4.1 and their uniqueness scopes (§4.7):
 * - `public`: zone public ranges; unique cloud-wide (ranges of different zones never overlap);
 * - `guest`: a guest network's CIDR or (basic zones / shared networks) its per-pod ranges;
 *   unique within the network;
 * - `management`: a pod's reserved system range (pods.startIp–endIp); unique cloud-wide;
 * - `linklocal`: `control.cidr` per pod for router control NICs; unique within the pod.
 */
export type IpSpace = 'public' | 'guest' | 'management' | 'linklocal';

/** Spaces whose ranges are rows of `ip_ranges` (the others derive from pods and settings). */
export type IpRangeSpace = 'public' | 'guest';

/** CloudStack's VLAN type of a range: `VirtualNetwork` (public) or `DirectAttached` (shared network / basic pod). */
export type VlanType = 'VirtualNetwork' | 'DirectAttached';

/**
 * Who holds an address. `Nic` (a VM, router or system VM NIC), `Network` (e.g. a network's
 * source-NAT IP), `Account` (an acquired public IP not yet on a network), `ExternalLoadBalancer`
 * / `ExternalFirewall` (device self-IPs, §4.4), `Vpc`, `System`.
 */
export type IpOwnerType =
  | 'Nic'
  | 'Network'
  | 'Account'
  | 'Vpc'
  | 'ExternalLoadBalancer'
  | 'ExternalFirewall'
  | 'System';

/**
 * State of an allocation row. Public IPs follow the public-IP state machine
 * (`Allocating`, `Allocated`, `Reserved`, `Releasing`); other spaces use `Allocated` and
 * `Reserved`. `Free` is never stored: **an address is free exactly when it has no row** (the
 * row is deleted when a release completes), so a range is one row plus its allocated addresses.
 */
export type IpAllocationState = Exclude<PublicIpState, 'Free'>;

/** An address range: one row however large the range is. */
export interface IpRange {
  id: number;
  uuid: string;
  space: IpRangeSpace;
  vlanType: VlanType;
  zoneId: number;
  podId: number | null;
  networkId: number | null;
  physicalNetworkId: number | null;
  /** `untagged` or `vlan://<id>`. */
  vlanTag: string;
  gateway: string;
  netmask: string;
  cidr: string;
  startIp: string;
  endIp: string;
  startNum: number;
  endNum: number;
  /** Addresses inside start–end that are never handed out (e.g. a gateway inside the range). */
  excluded: string[];
  /** Dedicated to this domain (and its subdomains), or null. */
  domainId: number | null;
  /** Dedicated to this account, or null. */
  accountId: number | null;
  forSystemVms: boolean;
  updatedCount: number;
  created: Date;
  removed: Date | null;
}

/** An allocated (or reserved, or releasing) address. */
export interface IpAllocation {
  id: number;
  uuid: string;
  space: IpSpace;
  /** 0 for cloud-wide spaces, the network id (guest) or pod id (link-local). */
  scopeId: number;
  /** The range id (public, guest) or the pod id (management, link-local). */
  poolId: number;
  /** The address as an unsigned 32-bit integer. */
  address: number;
  ip: string;
  zoneId: number;
  state: IpAllocationState;
  ownerType: IpOwnerType;
  ownerId: number | null;
  accountId: number | null;
  domainId: number | null;
  networkId: number | null;
  vpcId: number | null;
  /** The network's (or VPC's) source-NAT IP. */
  sourceNat: boolean;
  created: Date;
  updatedCount: number;
}

/** How full a pool is: `free + allocated = size` always holds. */
export interface PoolUsage {
  /** Allocatable addresses (or VLANs): the range minus excluded entries. */
  size: number;
  allocated: number;
  free: number;
}

export const decodeIpRange = decoder<IpRange>({ bool: ['forSystemVms'], json: ['excluded'] });
export const decodeIpAllocation = decoder<IpAllocation>({ bool: ['sourceNat'] });
