import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import { DriverError, type SecondaryStoreRef } from '@stratus/core';
import type { HostFiles } from './libvirt-transport.js';

/** How the driver finds the local directory of a secondary store (see `KvmDriverOptions`). */
export interface SecondaryStorageMounts {
  secondaryStorageMounts?: Readonly<Record<string, string>>;
  secondaryStorageRoot?: string;
}

const trimSlash = (s: string): string => s.replace(/\/+$/, '');

/**
 * The local directory where this management server has `store` mounted: `mounts[url]` (trailing slashes ignored),
 * else `mounts[uuid]`, else `<root>/<uuid>`. A store none of them names is `Unsupported` for this driver.
 */
export function secondaryStoreDir(store: SecondaryStoreRef, options: SecondaryStorageMounts): string {
  const mounts = options.secondaryStorageMounts ?? {};
  const url = trimSlash(store.url);
  const byUrl = Object.entries(mounts).find(([k]) => trimSlash(k) === url)?.[1];
  const dir =
    byUrl ??
    mounts[store.uuid] ??
    (options.secondaryStorageRoot !== undefined ? join(options.secondaryStorageRoot, store.uuid) : undefined);
  if (dir === undefined || dir === '')
    throw new DriverError(
      'Unsupported',
      `kvm: secondary store ${store.url} (${store.uuid}) is not mounted here: add it to secondaryStorageMounts`,
    );
  if (!isAbsolute(dir))
    throw new DriverError('Unsupported', `kvm: the mount directory of ${store.url} must be absolute, not ${dir}`);
  return resolve(dir);
}

/** `relativePath` under `dir`, refusing a path that leaves it. */
export function insideDir(dir: string, relativePath: string): string {
  const full = resolve(dir, relativePath);
  if (!full.startsWith(dir + sep)) throw new DriverError('InvalidState', `kvm: ${relativePath} escapes ${dir}`);
  return full;
}

/** Size of a local regular file, undefined when there is none. */
export async function localSize(path: string): Promise<number | undefined> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new DriverError('DeviceError', `kvm: cannot stat ${path}: ${err.message}`, { cause: err });
  });
  if (st === undefined) return undefined;
  if (!st.isFile()) throw new DriverError('DeviceError', `kvm: ${path} exists and is not a file`);
  return st.size;
}

/**
 * Downloads `remotePath` (`expectedBytes` long) from the host into the local file `finalPath`: into a part file in
 * a private directory next to it (`<finalPath>.part-<random>/`), size checked, then renamed into place, so
 * `finalPath` only ever holds a complete copy. On any failure the part directory is removed (a transfer that
 * still touches it after the failure cannot recreate the file in a removed directory) and the error passed on (a
 * dropped connection stays the marked `Unreachable` the transport raised; a local I/O failure becomes `DeviceError`).
 */
export async function downloadToLocalFile(
  files: HostFiles,
  remotePath: string,
  finalPath: string,
  expectedBytes: number,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const partDir = `${finalPath}.part-${randomBytes(4).toString('hex')}`;
  const part = join(partDir, basename(finalPath));
  try {
    await mkdir(partDir, { recursive: true });
  } catch (err) {
    throw new DriverError('DeviceError', `kvm: cannot create ${partDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await files.download(remotePath, part, onProgress);
    const got = await localSize(part);
    if (got !== expectedBytes)
      throw new DriverError('DeviceError', `kvm: download of ${remotePath} is ${got} bytes, expected ${expectedBytes}`);
    await rename(part, finalPath);
  } catch (err) {
    if (err instanceof DriverError) throw err;
    throw new DriverError('DeviceError', `kvm: download of ${remotePath} failed: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    await rm(partDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
