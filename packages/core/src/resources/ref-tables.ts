import { type RefTable, refTable } from './ref-resolution.js';

/*
 * Where references to records of the higher layers are resolved, for the services (of any layer)
 * that take them and cannot import the owning layer's repo. Records with a `Repo` resolve through it.
 */

/** Virtual machines (`vmInstances`). */
export const vmRefs: RefTable = refTable('vmInstances', 'VirtualMachine');
/** Volumes. */
export const volumeRefs: RefTable = refTable('volumes', 'Volume');
/** Volume snapshots. */
export const snapshotRefs: RefTable = refTable('snapshots', 'Snapshot');
/** Recurring snapshot policies. */
export const snapshotPolicyRefs: RefTable = refTable('snapshotPolicies', 'SnapshotPolicy');
/** Public IP addresses (allocations; released ones are deleted). */
export const ipAddressRefs: RefTable = refTable('ipAllocations', 'Public IP', false);
/** Public and guest IP ranges. */
export const ipRangeRefs: RefTable = refTable('ipRanges', 'IP range');
/** Security group rules (deleted when revoked). */
export const securityGroupRuleRefs: RefTable = refTable('securityGroupRules', 'SecurityGroupRule', false);
/** Network ACL items (deleted when removed). */
export const networkAclItemRefs: RefTable = refTable('networkAclItems', 'NetworkAclItem', false);
/** Guest VLAN ranges dedicated to an account. */
export const guestVlanDedicationRefs: RefTable = refTable('guestVlanDedications', 'Dedicated guest VLAN range');
/** Asynchronous jobs. */
export const jobRefs: RefTable = refTable('asyncJobs', 'AsyncJob');
