import type { OperationContext } from './operation-context.js';
import type { DiskFormat } from './vm-spec.js';

/** Primary storage pool type (CloudStack `Storage.StoragePoolType`, resource-model.md §3). */
export type PoolType =
  | 'NetworkFilesystem'
  | 'Filesystem'
  | 'SharedMountPoint'
  | 'IscsiLUN'
  | 'Iscsi'
  | 'LVM'
  | 'CLVM'
  | 'RBD'
  | 'VMFS'
  | 'PreSetup'
  | 'EXT'
  | 'OCFS2'
  | 'SMB'
  | 'Gluster'
  | 'ManagedNFS'
  | (string & {});

/** How core names a primary storage pool to a driver. */
export interface PoolRef {
  /** Core's pool uuid; drivers name the pool on the hypervisor after it (libvirt pool name, SR name-label tag…). */
  uuid: string;
  type: PoolType;
}

/**
 * A pool to make usable on a host (`CreateStoragePoolCommand`/`ModifyStoragePoolCommand(add)`).
 * Protocol fields as in storage.md §1: NFS `server` + `path`; iSCSI `server` + `path` = `/<iqn>/<lun>`;
 * PreSetup `server` + SR name-label in `path`; SharedMountPoint `path`; VMFS `server` + `/datacenter/datastore`.
 */
export interface PoolSpec extends PoolRef {
  name: string;
  /** NFS/iSCSI server, vCenter, Ceph monitor… */
  server?: string;
  path: string;
  port?: number;
  /** `user:secret` for RBD/SMB; never logged. */
  userInfo?: string;
  details?: Readonly<Record<string, string>>;
}

/** Answer of `createStoragePool` (`ModifyStoragePoolAnswer`). */
export interface StoragePoolReport {
  capacityBytes: number;
  availableBytes: number;
  /** Uuids of the templates already staged on the pool. */
  templates: readonly string[];
}

/** Answer of `getStorageStats` (`GetStorageStatsCommand`). */
export interface StorageStats {
  capacityBytes: number;
  usedBytes: number;
  availableBytes: number;
}

/** A secondary storage (image store) location. */
export interface SecondaryStoreRef {
  uuid: string;
  /** e.g. `nfs://10.0.0.5/export/secondary`. */
  url: string;
}

/** A template or ISO on secondary storage, to stage on primary (`copyTemplateToPrimaryStorage`). */
export interface TemplateSpec {
  uuid: string;
  name: string;
  /** Location on secondary storage (or a URL the host can fetch). */
  url: string;
  format: DiskFormat;
  /** Virtual size. */
  sizeBytes: number;
  /** Size of the file. */
  physicalSizeBytes?: number;
  /** Checksum to verify the copy, `<algo>:<hex>` or bare MD5. */
  checksum?: string;
  isIso?: boolean;
}

/** A template staged on a primary pool (CloudStack's `template_spool_ref` row content). */
export interface StagedTemplate {
  templateUuid: string;
  poolUuid: string;
  /** Path (or VDI uuid, datastore path) of the staged copy; clones are made from it. */
  path: string;
  sizeBytes: number;
  physicalSizeBytes: number;
}

/** A volume to create (`CreateObjectCommand`). */
export interface VolumeSpec {
  /** Core's volume uuid: the idempotency key. */
  uuid: string;
  name: string;
  type: 'ROOT' | 'DATADISK';
  sizeBytes: number;
  format: DiskFormat;
  /** The pool core chose. */
  pool: PoolRef;
  provisioning?: 'thin' | 'sparse' | 'fat';
  iops?: { min?: number; max?: number };
}

/** Options of `createVolume`. */
export interface CreateVolumeOptions extends OperationContext {
  /** Clone from this staged template (`cloneVolumeFromBaseTemplate`); blank volume otherwise. */
  fromTemplate?: Pick<StagedTemplate, 'templateUuid' | 'path'>;
}

/** How core names an existing volume to a driver. */
export interface VolumeRef {
  uuid: string;
  pool: PoolRef;
  /** `VolumeResult.path`; drivers that name files after the uuid may do without. */
  path?: string;
}

/** A volume as it exists on a pool. */
export interface VolumeResult {
  uuid: string;
  poolUuid: string;
  path: string;
  sizeBytes: number;
  format: DiskFormat;
}

/** Options of `resizeVolume`. */
export interface ResizeVolumeOptions extends OperationContext {
  /** The running VM the volume is attached to, for an online resize. */
  vmName?: string;
}

/** Options of `migrateVolume`. */
export interface MigrateVolumeOptions extends OperationContext {
  /** The running VM the volume is attached to (live storage migration); absent for a detached/stopped volume. */
  vmName?: string;
}

/** A volume snapshot to take on primary storage (`CreateObjectCommand` for a snapshot). */
export interface SnapshotSpec {
  /** Core's snapshot uuid: the idempotency key. */
  uuid: string;
  name: string;
  volume: VolumeRef;
  /** The running VM the volume is attached to, if any. */
  vmName?: string;
}

/** Where a snapshot's data lives, on primary and/or secondary storage. */
export interface SnapshotRef {
  uuid: string;
  volume: VolumeRef;
  /** Path on primary, while it is there (`SnapshotResult.path`). */
  primaryPath?: string;
  /** Copy on secondary, once backed up. */
  backup?: { store: SecondaryStoreRef; path: string };
}

/** Answer of `createSnapshot`. */
export interface SnapshotResult {
  uuid: string;
  /** Path on primary storage. */
  path: string;
  physicalSizeBytes: number;
  /** Parent snapshot in an incremental chain (XenServer). */
  parentUuid?: string;
}

/** Options of `backupSnapshot`. */
export interface BackupSnapshotOptions extends OperationContext {
  /** Keep the copy on primary (default false: it is removed after the copy, storage.md). */
  keepOnPrimary?: boolean;
  /** Force a full copy instead of an incremental one. */
  full?: boolean;
}

/** Answer of `backupSnapshot`. */
export interface SnapshotBackupResult {
  store: SecondaryStoreRef;
  /** Path of the copy on secondary storage. */
  path: string;
  physicalSizeBytes: number;
  /** Whether the copy on primary was removed. */
  removedFromPrimary: boolean;
}

/** Where to write a new template (`createTemplateFromVolume/Snapshot`). */
export interface TemplateTarget {
  uuid: string;
  name: string;
  store: SecondaryStoreRef;
  format?: DiskFormat;
}

/** A template written to secondary storage. */
export interface TemplateResult {
  uuid: string;
  store: SecondaryStoreRef;
  path: string;
  format: DiskFormat;
  sizeBytes: number;
  physicalSizeBytes: number;
}
