/**
 * Why a candidate (zone, pod, cluster, host or pool) was dropped from a placement
 * (spec/allocation.md §11.2). User filters may add their own codes; those are free strings.
 */
export const REASON_CODES = [
  'ZONE_DISABLED',
  'POD_DISABLED',
  'CLUSTER_DISABLED',
  'HOST_NOT_UP',
  'HOST_DISABLED',
  'HOST_MAINTENANCE',
  'HYPERVISOR_MISMATCH',
  'DEDICATED_ELSEWHERE',
  'AFFINITY',
  'ANTI_AFFINITY',
  'NOT_DEDICATED',
  'TAG_MISMATCH',
  'HA_HOST_RESERVED',
  'NOT_HVM',
  'UEFI_UNSUPPORTED',
  'CPU_CORES',
  'CPU_SPEED',
  'INSUFFICIENT_CPU',
  'INSUFFICIENT_MEMORY',
  'MAX_GUESTS',
  'GPU_UNAVAILABLE',
  'PLANNER_USAGE_CONFLICT',
  'CLUSTER_THRESHOLD_CPU',
  'CLUSTER_THRESHOLD_MEMORY',
  'NO_REACHABLE_POOL',
  'POOL_TAG_MISMATCH',
  'POOL_MAINTENANCE',
  'POOL_USED_THRESHOLD',
  'POOL_ALLOCATED_THRESHOLD',
  'POOL_SPACE',
  'POOL_IOPS',
  'AVOIDED_AFTER_FAILURE',
  'NOT_EVALUATED',
] as const;

/** A built-in reason code. */
export type BuiltInReasonCode = (typeof REASON_CODES)[number];

/** A built-in reason code, or a custom code from a user filter (any other string). */
export type ReasonCode = BuiltInReasonCode | (string & {});

const LABELS: Record<BuiltInReasonCode, string> = {
  ZONE_DISABLED: 'zone disabled',
  POD_DISABLED: 'pod disabled',
  CLUSTER_DISABLED: 'cluster disabled',
  HOST_NOT_UP: 'not up',
  HOST_DISABLED: 'disabled',
  HOST_MAINTENANCE: 'in maintenance',
  HYPERVISOR_MISMATCH: 'hypervisor mismatch',
  DEDICATED_ELSEWHERE: 'dedicated elsewhere',
  AFFINITY: 'affinity conflict',
  ANTI_AFFINITY: 'anti-affinity conflict',
  NOT_DEDICATED: 'not dedicated to the owner',
  TAG_MISMATCH: 'host-tag mismatch',
  HA_HOST_RESERVED: 'reserved for HA',
  NOT_HVM: 'not HVM-capable',
  UEFI_UNSUPPORTED: 'no UEFI',
  CPU_CORES: 'too few CPU cores',
  CPU_SPEED: 'CPU too slow',
  INSUFFICIENT_CPU: 'insufficient CPU',
  INSUFFICIENT_MEMORY: 'insufficient memory',
  MAX_GUESTS: 'max guests reached',
  GPU_UNAVAILABLE: 'no free GPU',
  PLANNER_USAGE_CONFLICT: 'planner usage conflict',
  CLUSTER_THRESHOLD_CPU: 'cluster CPU above disable threshold',
  CLUSTER_THRESHOLD_MEMORY: 'cluster memory above disable threshold',
  NO_REACHABLE_POOL: 'no reachable storage pool',
  POOL_TAG_MISMATCH: 'storage-tag mismatch',
  POOL_MAINTENANCE: 'pool in maintenance',
  POOL_USED_THRESHOLD: 'pool used above disable threshold',
  POOL_ALLOCATED_THRESHOLD: 'pool allocation above disable threshold',
  POOL_SPACE: 'insufficient pool space',
  POOL_IOPS: 'insufficient pool IOPS',
  AVOIDED_AFTER_FAILURE: 'avoided after a failed attempt',
  NOT_EVALUATED: 'not evaluated',
};

/** The human wording of a reason code ("insufficient memory"); custom codes read as themselves. */
export function reasonLabel(code: ReasonCode): string {
  return (LABELS as Record<string, string>)[code] ?? code;
}
