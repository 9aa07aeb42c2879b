/**
 * Secondary storage as this management server sees it: the local directory where each image store is mounted
 * (`secondaryStorageMounts` by store URL or uuid, else `<secondaryStorageRoot>/<uuid>`, the layout of core's
 * `localImageStoreDriver`). Templates are read from there (or fetched over http(s)) to be imported into an SR, and
 * templates made from volumes are written there.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { DriverError, type SecondaryStoreRef } from '@stratus/core';
import axios from 'axios';

/** Where secondary storage is mounted here. */
export interface XenSecondaryStorage {
  /** Local mount directory of each image store, by its URL (`nfs://10.0.0.6/secondary`) or uuid. */
  secondaryStorageMounts?: Readonly<Record<string, string>>;
  /** `<root>/<store uuid>` for stores not in the mounts. */
  secondaryStorageRoot?: string;
}

const trim = (s: string) => s.replace(/\/+$/, '');

/** The local directory of `store`, or `Unsupported`. */
export function secondaryStoreDir(store: SecondaryStoreRef, options: XenSecondaryStorage): string {
  const mounts = options.secondaryStorageMounts ?? {};
  const dir =
    Object.entries(mounts).find(([k]) => trim(k) === trim(store.url))?.[1] ??
    mounts[store.uuid] ??
    (options.secondaryStorageRoot !== undefined ? join(options.secondaryStorageRoot, store.uuid) : undefined);
  if (!dir || !isAbsolute(dir))
    throw new DriverError(
      'Unsupported',
      `xen: secondary store ${store.url} is not mounted here (secondaryStorageMounts)`,
    );
  return resolve(dir);
}

/** `relative` inside `dir`, refusing a path that leaves it. */
export function insideDir(dir: string, relative: string): string {
  const full = resolve(dir, relative);
  if (!full.startsWith(dir + sep)) throw new DriverError('InvalidState', `xen: ${relative} escapes ${dir}`);
  return full;
}

/** The bytes of a template or ISO at `url`: a file under a mounted store, or an http(s) download. */
export async function readSecondaryObject(url: string, options: XenSecondaryStorage): Promise<Buffer> {
  for (const [key, dir] of Object.entries(options.secondaryStorageMounts ?? {}))
    if (url.startsWith(`${trim(key)}/`)) return readFile(insideDir(resolve(dir), url.slice(trim(key).length + 1)));
  if (/^https?:\/\//.test(url)) {
    const res = await axios.get<ArrayBuffer>(url, { responseType: 'arraybuffer', timeout: 600_000 });
    return Buffer.from(res.data);
  }
  throw new DriverError('Unsupported', `xen: ${url} is on no secondary store mounted here (secondaryStorageMounts)`);
}
