export { AddressIndex } from './address-index.js';
export { FreeBitmap } from './free-bitmap.js';
export {
  type GuestVlan,
  type GuestVlanDedication,
  GuestVlanService,
  type GuestVlanServiceOptions,
  type TakeGuestVlanRequest,
  VlanIndex,
} from './guest-vlans.js';
export {
  type AddressOwner,
  type AddressPool,
  type GuestIpRequest,
  IpAllocator,
  type IpAllocatorOptions,
  type PodIpRequest,
  type PublicIpRequest,
  poolOfRange,
} from './ip-allocator.js';
export {
  type CreateGuestIpRangeInput,
  type CreatePublicIpRangeInput,
  GuestIpRangeService,
  MAX_RANGE_SIZE,
  PublicIpRangeService,
  parseVlanTag,
} from './ip-ranges.js';
export { linkLocalMac, MacAddressAllocator } from './mac-addresses.js';
export { type PickStrategy, type RandomSource, seededRandom } from './random.js';
export type {
  IpAllocation,
  IpAllocationState,
  IpOwnerType,
  IpRange,
  IpRangeSpace,
  IpSpace,
  PoolUsage,
  VlanType,
} from './records.js';
