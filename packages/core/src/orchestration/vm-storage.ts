import type { DeployDestination, DiskProfile } from '../allocation/deployment-plan.js';
import type { Writer } from '../context.js';
import type { DiskSpec } from '../driver/vm-spec.js';
import type { Host, Template, VirtualMachine, Volume } from '../model/records.js';
import type { Db } from '../store/store.js';

/**
 * What the VM orchestrator needs from the storage layer (volumes, template staging): the VM's
 * volumes as records at deploy, as placement profiles, created on the chosen pools at start, and
 * released at destroy, recover and expunge.
 */
export interface VmStorage {
  /** In the deploy transaction: the ROOT volume (and a DATA volume) as `Allocated` records. */
  allocate(
    w: Writer,
    vm: VirtualMachine,
    input: { template: Template; rootSizeBytes?: number; dataDisk?: { diskOfferingId: number; sizeBytes?: number } },
  ): Promise<Volume[]>;
  /** The VM's volumes for placement (already-created ones carry their pool). */
  diskProfiles(db: Db, vm: VirtualMachine): Promise<DiskProfile[]>;
  /**
   * Creates the VM's not-yet-created volumes on the destination's pools (the ROOT volume from its
   * template, staged on the pool first) and returns the disks to start with, plus the ids of the
   * volumes this call created so a failed start can undo exactly those.
   */
  prepare(
    vm: VirtualMachine,
    destination: DeployDestination,
    host: Host,
  ): Promise<{ disks: DiskSpec[]; created: number[] }>;
  /** The disks of a VM whose volumes all exist (a running VM). */
  diskSpecs(vm: VirtualMachine, host: Host): Promise<DiskSpec[]>;
  /** Deletes the volumes `prepare` created (they go back to `Allocated`, their storage released). */
  undoPrepare(vm: VirtualMachine, created: readonly number[]): Promise<void>;
  /** Destroy: ROOT `Ready → Destroy`, DATA volumes detached and kept. */
  destroy(w: Writer, vm: VirtualMachine): Promise<void>;
  /** Recover: ROOT `Destroy → Ready`. */
  recover(w: Writer, vm: VirtualMachine): Promise<void>;
  /** Expunge: the ROOT volume removed from its pool and expunged. */
  expunge(vm: VirtualMachine): Promise<void>;
}
