import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { DriverError, type OperationContext } from '@stratus/core';
import type { KeyedLock } from '@stratus/core/driver-kit';
import { fail, type KvmHost, poolFail } from './kvm-host.js';
import { secondaryLocation, secondaryPool } from './secondary-pool.js';
import { attr, child, parseXml, text } from './xml.js';

/** A secondary-storage directory mounted on a host through a libvirt `netfs` pool. */
export interface SecondaryMount {
  /** The pool's name (= uuid). */
  uuid: string;
  /** The directory it is mounted on. */
  target: string;
  /** Whether this call defined the pool (and so should take it down again). */
  created: boolean;
}

/**
 * Mounts `server:dir` on the host as CloudStack's KVM agent does (`KVMStoragePoolManager.getStoragePoolByURI`): a
 * transient `netfs` pool named after the directory ({@link secondaryPool}); one already defined for the same source
 * is reused. The mount directory is created first (libvirt's test driver refuses `pool-create --build`). A pool of
 * that name for another source is `AlreadyExists`.
 */
export async function mountSecondary(
  h: KvmHost,
  server: string,
  dir: string,
  mountParent: string,
): Promise<SecondaryMount> {
  const def = secondaryPool(server, dir, mountParent);
  let existing: string | undefined;
  try {
    existing = await h.transport.virsh(['pool-dumpxml', '--', def.uuid]);
  } catch (err) {
    if (!DriverError.is(err, 'NotFound')) throw err;
  }
  if (existing !== undefined) {
    const p = child(parseXml(existing), 'pool');
    const source = child(p, 'source');
    if (
      attr(p, 'type') !== 'netfs' ||
      attr(child(source, 'host'), 'name') !== server ||
      attr(child(source, 'dir'), 'path') !== dir
    )
      throw poolFail('AlreadyExists', `pool ${def.uuid} exists on host ${h.name} for another source`, def.uuid);
    return { uuid: def.uuid, target: text(child(p, 'target'), 'path') ?? def.target, created: false };
  }
  await h.transport.files.mkdir(def.target);
  await h.transport.virsh(['pool-create', '/dev/stdin'], { stdin: def.xml });
  return { uuid: def.uuid, target: def.target, created: true };
}

/** Takes down a secondary mount this driver made; one that is gone already is fine. */
export async function unmountSecondary(h: KvmHost, mount: SecondaryMount): Promise<void> {
  if (!mount.created) return;
  await h.transport.virsh(['pool-destroy', '--', mount.uuid]).catch((err: unknown) => {
    if (!DriverError.is(err, 'NotFound')) throw err;
  });
}

/** Options of {@link stageSecondaryObject}. */
export interface StageObjectOptions extends OperationContext {
  /** Parent directory of secondary-storage mounts on the host (CloudStack's `mount.parent`). */
  mountParent: string;
  /** Serialises mounts of one directory on one host. */
  locks: KeyedLock;
  /** The pool the copy lands in (error scope). */
  poolUuid: string;
}

/**
 * Puts the secondary-storage object at `url` (a template or ISO: `nfs://server/export/…/<file>`, `file://…` or a
 * host path) at `finalPath` on the host and returns its size in bytes. NFS: the object's directory is mounted
 * ({@link mountSecondary}), the file copied on the host from the mount into a part file next to `finalPath`, size
 * checked and renamed into place, and the mount taken down again if this call made it. `file://` (a local directory
 * image store on this management server): uploaded over the kept SFTP connection the same way. A complete copy
 * already at `finalPath` is kept. Other schemes are `Unsupported` naming the URL.
 */
export async function stageSecondaryObject(
  h: KvmHost,
  url: string,
  finalPath: string,
  options: StageObjectOptions,
): Promise<number> {
  const where = secondaryLocation(url);
  const files = h.transport.files;
  const progress = (done: number, total: number, what: string) =>
    options.onProgress?.(total > 0 ? Math.floor((done / total) * 90) : 0, what);
  const intoPlace = async (bytes: number, write: (part: string) => Promise<void>): Promise<number> => {
    if ((await files.size(finalPath)) === bytes) return bytes;
    const part = `${finalPath}.part-${randomBytes(4).toString('hex')}`;
    try {
      await write(part);
      const written = await files.size(part);
      if (written !== bytes)
        throw poolFail('DeviceError', `copy of ${url} is ${written} bytes, expected ${bytes}`, options.poolUuid);
      await files.rename(part, finalPath);
      return bytes;
    } catch (err) {
      await files.remove(part).catch(() => undefined);
      if (err instanceof DriverError) throw err;
      throw poolFail('DeviceError', `copy of ${url} failed: ${(err as Error).message}`, options.poolUuid);
    }
  };
  const signal = options.signal !== undefined ? { signal: options.signal } : {};
  switch (where.kind) {
    case 'file': {
      const local = await stat(where.path).catch(() => undefined);
      if (local === undefined || !local.isFile())
        throw new DriverError('NotFound', `kvm: ${url}: file ${where.path} does not exist on this management server`);
      return intoPlace(local.size, (part) =>
        files.upload(where.path, part, (done, total) => progress(done, total, 'uploading')),
      );
    }
    case 'host': {
      const bytes = await files.size(where.path);
      if (bytes === undefined) throw fail('NotFound', `${where.path} is not on host ${h.name}`, h);
      if (where.path === finalPath) return bytes;
      return intoPlace(bytes, (part) => files.copy(where.path, part, signal));
    }
    case 'nfs': {
      const key = `mount:${h.guid}:${where.server}:${where.dir}`;
      return options.locks.run(key, async () => {
        options.onProgress?.(0, 'mounting secondary storage');
        const mount = await mountSecondary(h, where.server, where.dir, options.mountParent);
        try {
          const source = `${mount.target}/${where.file}`;
          const bytes = await files.size(source);
          if (bytes === undefined)
            throw fail(
              'NotFound',
              `${where.file} is not on ${where.server}:${where.dir} (mounted at ${mount.target} on host ${h.name})`,
              h,
            );
          options.onProgress?.(5, 'copying from secondary storage');
          return await intoPlace(bytes, (part) => files.copy(source, part, signal));
        } finally {
          await unmountSecondary(h, mount).catch(() => undefined);
        }
      });
    }
  }
}

/**
 * The path on the host of an ISO a VM reads straight from secondary storage (CloudStack's KVM agent mounts the ISO's
 * directory and attaches the file from the mount): NFS is mounted and left mounted while VMs use it; a host path is
 * used as it is; `file://` (nothing the host could mount) is staged with {@link stageSecondaryObject} as
 * `<stageDir>/tmpl-<isoUuid>.iso`, and needs a `stageDir` (the pool of the VM's root disk).
 */
export async function isoPathOnHost(
  h: KvmHost,
  iso: { volumeUuid: string; path: string },
  stage: { dir?: string; poolUuid?: string },
  options: Omit<StageObjectOptions, 'poolUuid'>,
): Promise<string> {
  const where = secondaryLocation(iso.path);
  switch (where.kind) {
    case 'host':
      return where.path;
    case 'nfs': {
      const key = `mount:${h.guid}:${where.server}:${where.dir}`;
      const mount = await options.locks.run(key, () => mountSecondary(h, where.server, where.dir, options.mountParent));
      const path = `${mount.target}/${where.file}`;
      if ((await h.transport.files.size(path)) === undefined)
        throw fail('NotFound', `ISO ${where.file} is not on ${where.server}:${where.dir}`, h);
      return path;
    }
    case 'file': {
      if (stage.dir === undefined)
        throw fail(
          'InvalidState',
          `ISO ${iso.path} is on this management server and the VM has no disk to stage it by`,
          h,
        );
      const finalPath = `${stage.dir}/tmpl-${iso.volumeUuid}.iso`;
      await stageSecondaryObject(h, iso.path, finalPath, { ...options, poolUuid: stage.poolUuid ?? stage.dir });
      return finalPath;
    }
  }
}
