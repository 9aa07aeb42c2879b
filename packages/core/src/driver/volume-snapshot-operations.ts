import { UnsupportedError } from '../errors.js';
import type { HypervisorDriver, VolumeSnapshotOperations } from './hypervisor-driver.js';

/**
 * The driver's volume-snapshot operations, or `UnsupportedError` (code `UNSUPPORTED`, 432) naming the hypervisor
 * when its driver does not declare `volumeSnapshots` or lacks one of the methods. Core calls this before any
 * snapshot work reaches the driver, so an unsupported snapshot is reported as such, never as a driver failure.
 */
export function volumeSnapshotOperations(
  driver: HypervisorDriver,
  field = 'hypervisorType',
  value: unknown = driver.type,
): VolumeSnapshotOperations {
  const { createSnapshot, backupSnapshot, deleteSnapshot, createVolumeFromSnapshot, createTemplateFromSnapshot } =
    driver;
  if (
    driver.capabilities().volumeSnapshots !== true ||
    !createSnapshot ||
    !backupSnapshot ||
    !deleteSnapshot ||
    !createVolumeFromSnapshot ||
    !createTemplateFromSnapshot
  )
    throw new UnsupportedError(`${driver.type} does not support volume snapshots`, { field, value });
  return {
    createSnapshot: createSnapshot.bind(driver),
    backupSnapshot: backupSnapshot.bind(driver),
    deleteSnapshot: deleteSnapshot.bind(driver),
    createVolumeFromSnapshot: createVolumeFromSnapshot.bind(driver),
    createTemplateFromSnapshot: createTemplateFromSnapshot.bind(driver),
  };
}
