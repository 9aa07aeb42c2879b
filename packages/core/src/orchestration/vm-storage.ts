import type { DeployDestination, DiskProfile } from '../allocation/deployment-plan.js';
import type { Writer } from '../context.js';
import type { DiskSpec } from '../driver/vm-spec.js';
import type { Host, ServiceOffering, Template, VirtualMachine } from '../model/records.js';
import type { Db } from '../store/store.js';
import type { VolumeRecord } from './volume-record.js';
import type { VolumeCreation } from './volumes.js';

/** A start's storage work against one destination ({@link VmStorage.plan}). */
export interface VolumeStartPlan {
  /** The VM's volumes, by device id. */
  volumes: VolumeRecord[];
  /** The creations of its Allocated volumes. */
  creations: VolumeCreation[];
  /** What {@link VmStorage.book} left each creation's volume as, by volume id. */
  booked: Map<number, VolumeRecord>;
}

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
  ): Promise<VolumeRecord[]>;
  /** The VM's live volumes, by device id. */
  volumesOf(vm: VirtualMachine): Promise<VolumeRecord[]>;
  /**
   * The VM's volumes for placement (already-created ones carry their pool); `volumes` when the
   * caller has just read them ({@link volumesOf}).
   */
  diskProfiles(
    db: Db,
    vm: VirtualMachine,
    offering?: ServiceOffering,
    volumes?: readonly VolumeRecord[],
  ): Promise<DiskProfile[]>;
  /**
   * A start's first storage step, outside any transaction: checks the destination's pools for the
   * VM's not-yet-created volumes and stages the ROOT volume's template on its pool. `known` are
   * records the caller has just read: the destination host, the VM's volumes and its template.
   */
  plan(
    vm: VirtualMachine,
    destination: DeployDestination,
    known?: { host?: Host; volumes?: readonly VolumeRecord[]; template?: Template | null },
  ): Promise<VolumeStartPlan>;
  /** In the start's booking transaction: the planned volumes `Allocated → Creating`, their space booked. */
  book(w: Writer, plan: VolumeStartPlan): Promise<void>;
  /** Gives back what {@link book} booked (a start that fails before {@link create}). */
  cancel(plan: VolumeStartPlan): Promise<void>;
  /**
   * Creates the booked volumes on their pools and returns the disks to start with, plus the ids of
   * the volumes it created so a failed start can undo exactly those. If it fails, it has given
   * back everything it booked and created.
   */
  create(plan: VolumeStartPlan, host: Host): Promise<{ disks: DiskSpec[]; created: number[] }>;
  /** The disks of a VM whose volumes all exist (a running VM). */
  diskSpecs(vm: VirtualMachine, host: Host): Promise<DiskSpec[]>;
  /** Deletes the volumes {@link create} created (they go back to `Allocated`, their storage released). */
  undoPrepare(created: readonly number[]): Promise<void>;
  /** Destroy: ROOT `Ready → Destroy`, DATA volumes detached and kept. */
  destroy(w: Writer, vm: VirtualMachine): Promise<void>;
  /** Recover: ROOT `Destroy → Ready`. */
  recover(w: Writer, vm: VirtualMachine): Promise<void>;
  /** Expunge: the ROOT volume removed from its pool and expunged. */
  expunge(vm: VirtualMachine): Promise<void>;
}
