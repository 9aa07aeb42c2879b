import type { Writer } from '../context.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import type { SettingsService } from '../settings/settings-service.js';

/**
 * Account resource limits for volumes (spec/operations.md §12): `volume` (count of volumes not
 * destroyed) and `primary_storage` (Σ their sizes, GiB limit). Serialised per account; root-admin
 * accounts are exempt; -1 is unlimited. Counts are derived from the volumes table, so they change
 * atomically with it.
 */
export function checkVolumeLimits(
  w: Writer,
  settings: SettingsService,
  accountId: number,
  add: { volumes: number; bytes: number },
): Promise<void> {
  return checkResourceLimits(w, settings, accountId, { volume: add.volumes, primary_storage: add.bytes });
}
