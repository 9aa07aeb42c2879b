import { VolumeRemoval } from './volume-removal.js';

export type { CreateOptions, VolumeCreation } from './volume-creation.js';
export {
  type CreateVolumeInput,
  LIVE_VOLUME_STATES,
  nextDevice,
  type VmVolumeOwner,
  type VolumeServiceOptions,
  volumeByUuid,
} from './volume-crud.js';

/**
 * Volumes (spec/storage.md §4): create writes a record only (Allocated, no pool); the volume is
 * created physically at first attach on a pool the VM's host reaches; attach/detach with device ids
 * from 1 (3 is the CD-ROM) up to the hypervisor's `maxDataVolumesLimit`, hot-plug on a running VM
 * and a definition edit on a stopped one; grow-only resize; migration between pools; delete →
 * Destroy (recoverable) → expunge by the storage GC. Every driver call runs outside a transaction
 * and a failure puts records and pool allocations back exactly as they were.
 *
 * One concern per file, each a layer of this class: records (`volume-crud.ts`), physical
 * creation (`volume-creation.ts`), attachment (`volume-attachment.ts`), resize (`volume-resize.ts`),
 * migration (`volume-migration.ts`), and removal and cleanup (`volume-removal.ts`).
 */
export class VolumeService extends VolumeRemoval {}
