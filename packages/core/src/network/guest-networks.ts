import { GuestNicOperations } from './guest-nic-operations.js';

export { type CreateNetworkInput, inNetworkCidr } from './guest-network-lifecycle.js';
export type { AllocateNicInput } from './guest-nic-operations.js';

/**
 * Guest networks and the NetworkGuru lifecycle (spec/networking.md §6): `create` designs the
 * network (`Allocated`, or `Setup` when fully resourced like a shared network with its VLAN);
 * `implement` runs lazily at the first VM start — VLAN from the pool, source-NAT IP, elements,
 * stored rules re-applied; NICs are allocated, reserved at VM start, released at stop and
 * deallocated at expunge; `shutdown` (garbage collection) returns the VLAN and device state but
 * keeps rules, IPs and the source-NAT IP in the store; `delete` trashes the network.
 * State changes are compare-and-set through `Writer.transition`.
 *
 * One concern per file, each a layer of this class: the network's own lifecycle
 * (`guest-network-lifecycle.ts`) and the NIC operations (`guest-nic-operations.ts`).
 */
export class GuestNetworkService extends GuestNicOperations {}
