import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DriverError } from '@stratus/core';
import { buildXml } from './xml.js';

/** Where an object on secondary storage (a template or ISO) is, as the host reaches it. */
export type SecondaryLocation =
  /** On an NFS export the host mounts: `server:/dir`, and the file's name in that directory. */
  | { kind: 'nfs'; server: string; dir: string; file: string }
  /** A file on this management server (a local directory image store), staged over SFTP. */
  | { kind: 'file'; path: string }
  /** A path already on the host (nothing to mount or stage). */
  | { kind: 'host'; path: string };

/**
 * Java's `UUID.nameUUIDFromBytes` (an MD5, version 3 UUID), which CloudStack's KVM agent names a secondary-storage
 * mount after (`KVMStoragePoolManager.getStoragePoolByURI`: the bytes of `host + path`).
 */
export function nameUuidFromBytes(input: string): string {
  const md5 = createHash('md5').update(Buffer.from(input, 'utf8')).digest();
  md5[6] = (md5[6]! & 0x0f) | 0x30;
  md5[8] = (md5[8]! & 0x3f) | 0x80;
  const hex = md5.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Splits the URL core gives for an object on secondary storage (the image store's URL and the object's install
 * path, e.g. `nfs://10.0.0.6/export/secondary/template/tmpl/<uuid>/<uuid>.qcow2`). As CloudStack's KVM agent does,
 * an NFS object is reached by mounting its directory and reading the file from the mount; `file://` is a file on
 * this management server; an absolute path is already on the host. Any other scheme, or an NFS URL without a server
 * or a file name, is `DriverError('Unsupported')` naming the URL.
 */
export function secondaryLocation(url: string): SecondaryLocation {
  if (url.startsWith('/')) return { kind: 'host', path: url };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DriverError('Unsupported', `kvm: ${JSON.stringify(url)} is not a secondary storage URL`);
  }
  switch (parsed.protocol) {
    case 'nfs:': {
      const path = decodeURIComponent(parsed.pathname).replace(/\/{2,}/g, '/');
      const slash = path.lastIndexOf('/');
      const file = path.slice(slash + 1);
      const dir = path.slice(0, slash);
      if (parsed.hostname === '' || dir === '' || file === '')
        throw new DriverError(
          'Unsupported',
          `kvm: ${url} does not name a file on an NFS export (nfs://server/export/path/file)`,
        );
      return { kind: 'nfs', server: parsed.hostname, dir, file };
    }
    case 'file:':
      return { kind: 'file', path: fileURLToPath(parsed) };
    default:
      throw new DriverError(
        'Unsupported',
        `kvm: secondary storage URL ${url}: scheme ${parsed.protocol.replace(/:$/, '')} is not supported (nfs:// or file://)`,
      );
  }
}

/** A secondary-storage mount as a libvirt `netfs` pool: its name (= uuid), target directory and definition. */
export interface SecondaryPool {
  uuid: string;
  target: string;
  xml: string;
}

/**
 * The transient libvirt pool that mounts `server:dir` on the host, as CloudStack's `LibvirtStorageAdaptor` defines
 * it for secondary storage: named by `nameUuidFromBytes(server + dir)`, mounted at `<mountParent>/<uuid>`
 * (the agent's `mount.parent`, default `/mnt`), NFS version negotiated (`<format type='auto'/>`).
 */
export function secondaryPool(server: string, dir: string, mountParent = '/mnt'): SecondaryPool {
  const uuid = nameUuidFromBytes(server + dir);
  const target = `${mountParent.replace(/\/+$/, '')}/${uuid}`;
  const xml = buildXml({
    pool: {
      '@_type': 'netfs',
      name: uuid,
      uuid,
      source: { host: { '@_name': server }, dir: { '@_path': dir }, format: { '@_type': 'auto' } },
      target: { path: target },
    },
  });
  return { uuid, target, xml };
}
