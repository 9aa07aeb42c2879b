import { DriverError } from '@stratus/core';
import { KeyedLock } from '@stratus/core/driver-kit';
import { describe, expect, it } from 'vitest';
import type { KvmHost } from '../src/kvm-host.js';
import type { HostFiles, LibvirtTransport, VirshOptions } from '../src/libvirt-transport.js';
import { nameUuidFromBytes, secondaryLocation, secondaryPool } from '../src/secondary-pool.js';
import { isoPathOnHost, stageSecondaryObject } from '../src/template-staging.js';

/** A host whose libvirt and files are recorded: pools by name, files by path (sizes). */
function recordingHost(files: Map<string, number>, pools = new Map<string, string>()) {
  const calls: { args: readonly string[]; stdin?: string }[] = [];
  const fileOps: string[] = [];
  const hostFiles: HostFiles = {
    size: async (p) => files.get(p),
    upload: async () => {
      throw new Error('not expected');
    },
    download: async () => {
      throw new Error('not expected');
    },
    rename: async (a, b) => {
      fileOps.push(`rename ${a} ${b}`);
      files.set(b, files.get(a)!);
      files.delete(a);
    },
    remove: async (p) => {
      fileOps.push(`remove ${p}`);
      files.delete(p);
    },
    copy: async (a, b) => {
      fileOps.push(`copy ${a} ${b}`);
      const n = files.get(a);
      if (n === undefined) throw new DriverError('NotFound', `no ${a}`);
      files.set(b, n);
    },
    mkdir: async (p) => {
      fileOps.push(`mkdir ${p}`);
    },
  };
  const transport = {
    kind: 'ssh',
    scope: { kind: 'host', ref: 'h1' },
    files: hostFiles,
    async virsh(args: readonly string[], options: VirshOptions = {}) {
      calls.push({ args, ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) });
      const [cmd, , name] = args;
      if (cmd === 'pool-dumpxml') {
        const xml = pools.get(name!);
        if (xml === undefined) throw new DriverError('NotFound', `no pool ${name}`);
        return xml;
      }
      if (cmd === 'pool-create') {
        const n = /<name>([^<]+)<\/name>/.exec(options.stdin ?? '')![1]!;
        pools.set(n, options.stdin!);
        return '';
      }
      if (cmd === 'pool-destroy') {
        pools.delete(name!);
        return '';
      }
      throw new Error(`unexpected virsh ${args.join(' ')}`);
    },
  } as unknown as LibvirtTransport;
  const host: KvmHost = { guid: 'h1', name: 'kvm1', ip: '10.0.0.11', url: 'ssh://root@10.0.0.11', transport };
  return { host, calls, fileOps, pools };
}

const TEMPLATE = '8f2c1a52-1b4e-4d3a-9a57-5d9a3c1e0b11';
const URL_NFS = `nfs://10.0.0.6/export/secondary/template/tmpl/${TEMPLATE}/${TEMPLATE}.qcow2`;
const DIR = `/export/secondary/template/tmpl/${TEMPLATE}`;

describe('secondary storage on KVM', () => {
  it("names a mount as Java's UUID.nameUUIDFromBytes(host + path) does", () => {
    // UUID.nameUUIDFromBytes("".getBytes()) and ("abc".getBytes()) in Java
    expect(nameUuidFromBytes('')).toBe('d41d8cd9-8f00-3204-a980-0998ecf8427e');
    expect(nameUuidFromBytes('abc')).toBe('90015098-3cd2-3fb0-9696-3f7d28e17f72');
  });

  it('splits an NFS object into export directory and file; file:// and host paths; other schemes are Unsupported', () => {
    expect(secondaryLocation(URL_NFS)).toEqual({
      kind: 'nfs',
      server: '10.0.0.6',
      dir: DIR,
      file: `${TEMPLATE}.qcow2`,
    });
    expect(secondaryLocation('file:///srv/images/t.qcow2')).toEqual({ kind: 'file', path: '/srv/images/t.qcow2' });
    expect(secondaryLocation('/var/lib/libvirt/images/t.iso')).toEqual({
      kind: 'host',
      path: '/var/lib/libvirt/images/t.iso',
    });
    for (const bad of ['s3://bucket/t.qcow2', 'http://example.org/t.qcow2', 'nfs://10.0.0.6/t.qcow2', 'not a url']) {
      let caught: unknown;
      try {
        secondaryLocation(bad);
      } catch (e) {
        caught = e;
      }
      expect(DriverError.is(caught, 'Unsupported'), bad).toBe(true);
      expect((caught as Error).message).toContain(JSON.stringify(bad).slice(1, -1).split(' ')[0]!);
    }
  });

  it('defines the netfs pool exactly as CloudStack does', () => {
    const pool = secondaryPool('10.0.0.6', DIR, '/mnt');
    const uuid = nameUuidFromBytes(`10.0.0.6${DIR}`);
    expect(pool.uuid).toBe(uuid);
    expect(pool.target).toBe(`/mnt/${uuid}`);
    expect(pool.xml.replace(/\s+</g, '<').trim()).toBe(
      `<pool type="netfs"><name>${uuid}</name><uuid>${uuid}</uuid><source><host name="10.0.0.6"/>` +
        `<dir path="${DIR}"/><format type="auto"/></source><target><path>/mnt/${uuid}</path></target></pool>`,
    );
  });

  it('stages an NFS template: mounts its directory, copies on the host through a part file, unmounts', async () => {
    const mount = secondaryPool('10.0.0.6', DIR, '/mnt');
    const files = new Map([[`${mount.target}/${TEMPLATE}.qcow2`, 4096]]);
    const { host, calls, fileOps, pools } = recordingHost(files);
    const final = `/pools/p1/tmpl-${TEMPLATE}.qcow2`;
    const bytes = await stageSecondaryObject(host, URL_NFS, final, {
      mountParent: '/mnt',
      locks: new KeyedLock(),
      poolUuid: 'p1',
    });
    expect(bytes).toBe(4096);
    expect(files.get(final)).toBe(4096);
    expect(calls.map((c) => c.args.join(' '))).toEqual([
      `pool-dumpxml -- ${mount.uuid}`,
      'pool-create /dev/stdin',
      `pool-destroy -- ${mount.uuid}`,
    ]);
    expect(calls[1]!.stdin).toBe(mount.xml);
    expect(fileOps[0]).toBe(`mkdir ${mount.target}`);
    expect(fileOps[1]).toMatch(new RegExp(`^copy ${mount.target}/${TEMPLATE}\\.qcow2 ${final}\\.part-[0-9a-f]{8}$`));
    expect(fileOps[2]).toMatch(new RegExp(`^rename ${final}\\.part-[0-9a-f]{8} ${final}$`));
    expect(pools.size).toBe(0);
  });

  it('keeps a mount it did not make, and a missing file is NotFound naming the export (nothing copied)', async () => {
    const mount = secondaryPool('10.0.0.6', DIR, '/mnt');
    const pools = new Map([[mount.uuid, mount.xml]]);
    const { host, calls, fileOps } = recordingHost(new Map(), pools);
    const err = await stageSecondaryObject(host, URL_NFS, '/pools/p1/x.qcow2', {
      mountParent: '/mnt',
      locks: new KeyedLock(),
      poolUuid: 'p1',
    }).catch((e: unknown) => e);
    expect(DriverError.is(err, 'NotFound')).toBe(true);
    expect((err as Error).message).toContain(`10.0.0.6:${DIR}`);
    expect(calls.map((c) => c.args[0])).toEqual(['pool-dumpxml']);
    expect(fileOps).toEqual([]);
    expect(pools.has(mount.uuid)).toBe(true);
  });

  it('refuses a pool of the mount name that points elsewhere', async () => {
    const mount = secondaryPool('10.0.0.6', DIR, '/mnt');
    const other = secondaryPool('10.0.0.7', DIR, '/mnt').xml.replaceAll(
      secondaryPool('10.0.0.7', DIR).uuid,
      mount.uuid,
    );
    const { host } = recordingHost(new Map(), new Map([[mount.uuid, other]]));
    const err = await stageSecondaryObject(host, URL_NFS, '/pools/p1/x.qcow2', {
      mountParent: '/mnt',
      locks: new KeyedLock(),
      poolUuid: 'p1',
    }).catch((e: unknown) => e);
    expect(DriverError.is(err, 'AlreadyExists')).toBe(true);
  });

  it('an unknown scheme is Unsupported before anything runs on the host', async () => {
    const { host, calls, fileOps } = recordingHost(new Map());
    const err = await stageSecondaryObject(host, 'smb://fs/share/t.qcow2', '/pools/p1/x.qcow2', {
      mountParent: '/mnt',
      locks: new KeyedLock(),
      poolUuid: 'p1',
    }).catch((e: unknown) => e);
    expect(DriverError.is(err, 'Unsupported')).toBe(true);
    expect((err as Error).message).toContain('smb://fs/share/t.qcow2');
    expect(calls).toEqual([]);
    expect(fileOps).toEqual([]);
  });

  it('an NFS ISO is attached from its mount, which stays mounted', async () => {
    const isoUrl = `nfs://10.0.0.6/export/secondary/template/tmpl/${TEMPLATE}/${TEMPLATE}.iso`;
    const mount = secondaryPool('10.0.0.6', DIR, '/mnt');
    const { host, pools } = recordingHost(new Map([[`${mount.target}/${TEMPLATE}.iso`, 2048]]));
    const path = await isoPathOnHost(
      host,
      { volumeUuid: TEMPLATE, path: isoUrl },
      {},
      { mountParent: '/mnt', locks: new KeyedLock() },
    );
    expect(path).toBe(`${mount.target}/${TEMPLATE}.iso`);
    expect(pools.has(mount.uuid)).toBe(true);
  });
});
