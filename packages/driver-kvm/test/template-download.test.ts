import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DriverError, type HostRef, type PoolSpec, type VolumeResult } from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { type KvmDriver, kvmDriver } from '../src/index.js';
import { secondaryStoreDir } from '../src/secondary-download.js';
import type { SessionVirshTransport } from '../src/session-transport.js';
import { sshTarget, tinyVm } from './kvm-fixtures.js';

const facts = kvmFacts();

describe('secondary store mount directories', () => {
  const store = { uuid: 'st-1', url: 'nfs://10.0.0.6/secondary' };
  it('maps a store by url (trailing slash ignored), then by uuid, then under the root', () => {
    expect(secondaryStoreDir(store, { secondaryStorageMounts: { 'nfs://10.0.0.6/secondary/': '/mnt/sec' } })).toBe(
      '/mnt/sec',
    );
    expect(secondaryStoreDir(store, { secondaryStorageMounts: { 'st-1': '/mnt/by-uuid' } })).toBe('/mnt/by-uuid');
    expect(secondaryStoreDir(store, { secondaryStorageRoot: '/srv/stores' })).toBe('/srv/stores/st-1');
  });
  it('refuses a store it has no directory for, and a relative directory', () => {
    const none = (() => {
      try {
        return secondaryStoreDir(store, { secondaryStorageMounts: { 'nfs://other/x': '/mnt/x' } });
      } catch (e) {
        return e;
      }
    })();
    expect(DriverError.is(none, 'Unsupported')).toBe(true);
    expect(() => secondaryStoreDir(store, { secondaryStorageMounts: { [store.url]: 'relative/dir' } })).toThrow(
      /absolute/,
    );
  });
});

describe.skipIf(facts === null)(
  `createTemplateFromVolume over SFTP from a real sshd ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
  () => {
    const tag = `dl${process.pid}`;
    const store = { uuid: `store-${tag}`, url: `nfs://10.0.0.6/secondary-${tag}` };
    let secondaryDir: string;
    let poolPath: string;
    let d: KvmDriver;
    let host: HostRef;
    let pool: PoolSpec;

    beforeAll(async () => {
      const f = facts!;
      secondaryDir = `${f.dir}/secondary-${tag}`;
      mkdirSync(secondaryDir, { recursive: true });
      poolPath = `${f.poolDir}/${tag}`;
      mkdirSync(poolPath, { recursive: true });
      chmodSync(poolPath, 0o777);
      d = kvmDriver({
        hostKey: { knownHostsFile: f.knownHostsFile },
        domainType: 'test',
        vncPort: 5906,
        secondaryStorageMounts: { [store.url]: secondaryDir },
      });
      const [r] = await d.connect(sshTarget(f));
      host = { guid: r!.guid };
      pool = { uuid: `pool-${tag}`, name: `pool-${tag}`, type: 'SharedMountPoint', path: poolPath };
      await d.createStoragePool(host, pool);
    });
    afterAll(async () => {
      await d?.deleteStoragePool(host, pool).catch(() => undefined);
      await d?.close();
    });

    const transport = () => d.transportOf(host) as SessionVirshTransport;
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const templateDir = (uuid: string) => `${secondaryDir}/template/tmpl/${uuid}`;
    const target = (uuid: string) => ({ uuid, name: `template ${uuid}`, store });

    /**
     * A volume through the driver (libvirt's test driver registers it but writes no file), and its bytes placed at
     * the volume's path by the SSH user over SFTP, as qemu-img would have on a real host.
     */
    async function volumeWithBytes(uuid: string, bytes: Buffer): Promise<VolumeResult> {
      const vol = await d.createVolume(host, {
        uuid,
        name: uuid,
        type: 'DATADISK',
        sizeBytes: 1024 ** 3,
        format: 'qcow2',
        pool,
      });
      expect(vol.path).toBe(`${poolPath}/${uuid}`);
      const local = `${facts!.dir}/${uuid}.src`;
      writeFileSync(local, bytes);
      await transport().files.upload(local, vol.path);
      return vol;
    }

    it('downloads the volume file into the store with progress; a second call is answered by the file there', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 12345);
      await volumeWithBytes(`vol-a-${tag}`, bytes);
      const progress: number[] = [];
      const uuid = `tmpl-a-${tag}`;
      const result = await d.createTemplateFromVolume(host, { uuid: `vol-a-${tag}`, pool }, target(uuid), {
        onProgress: (p) => progress.push(p),
      });
      expect(result).toEqual({
        uuid,
        store,
        path: `template/tmpl/${uuid}/${uuid}.qcow2`,
        format: 'qcow2',
        sizeBytes: 1024 ** 3,
        physicalSizeBytes: bytes.length,
      });
      const written = readFileSync(`${secondaryDir}/${result.path}`);
      expect(written.length).toBe(bytes.length);
      expect(sha(written)).toBe(sha(bytes));
      expect(readdirSync(templateDir(uuid))).toEqual([`${uuid}.qcow2`]);
      // monotone, several steps of the transfer itself, ending at 100
      expect(progress.length).toBeGreaterThan(4);
      expect(progress.filter((p) => p > 0 && p < 100).length).toBeGreaterThan(2);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
      expect(progress.at(-1)).toBe(100);

      const mtime = statSync(`${secondaryDir}/${result.path}`).mtimeMs;
      const again: number[] = [];
      await expect(
        d.createTemplateFromVolume(host, { uuid: `vol-a-${tag}`, pool }, target(uuid), {
          onProgress: (p) => again.push(p),
        }),
      ).resolves.toEqual(result);
      expect(statSync(`${secondaryDir}/${result.path}`).mtimeMs).toBe(mtime);
      expect(again.some((p) => p > 0 && p < 100)).toBe(false);
    });

    it('a different file under the same template uuid is AlreadyExists; a missing volume NotFound', async () => {
      const bytes = randomBytes(64 * 1024);
      await volumeWithBytes(`vol-b-${tag}`, bytes);
      const uuid = `tmpl-b-${tag}`;
      mkdirSync(templateDir(uuid), { recursive: true });
      writeFileSync(`${templateDir(uuid)}/${uuid}.qcow2`, Buffer.alloc(10));
      await expect(
        d.createTemplateFromVolume(host, { uuid: `vol-b-${tag}`, pool }, target(uuid)),
      ).rejects.toMatchObject({ driverCode: 'AlreadyExists' });
      await expect(
        d.createTemplateFromVolume(host, { uuid: `no-such-vol-${tag}`, pool }, target(`tmpl-x-${tag}`)),
      ).rejects.toMatchObject({ driverCode: 'NotFound' });
      expect(existsSync(templateDir(`tmpl-x-${tag}`))).toBe(false);
    });

    it('refuses the volume of a running VM, takes it once the VM is stopped', async () => {
      const bytes = randomBytes(128 * 1024);
      const vol = await volumeWithBytes(`vol-c-${tag}`, bytes);
      const name = `i-tmpl-${tag}`;
      await d.startVm(
        host,
        tinyVm(name, {
          disks: [
            {
              volumeUuid: vol.uuid,
              type: 'ROOT',
              deviceId: 0,
              poolRef: pool,
              path: vol.path,
              format: 'qcow2',
              sizeBytes: vol.sizeBytes,
              readOnly: false,
            },
          ],
        }),
      );
      const uuid = `tmpl-c-${tag}`;
      try {
        await expect(d.createTemplateFromVolume(host, { uuid: vol.uuid, pool }, target(uuid))).rejects.toMatchObject({
          driverCode: 'InvalidState',
        });
        expect(existsSync(templateDir(uuid))).toBe(false);
        await d.stopVm(host, name, { force: true });
        const r = await d.createTemplateFromVolume(host, { uuid: vol.uuid, pool }, target(uuid));
        expect(sha(readFileSync(`${secondaryDir}/${r.path}`))).toBe(sha(bytes));
      } finally {
        await d.destroyVm(host, name);
      }
    });

    it('a clone is flattened by libvirt into a temporary volume first, and only that copy is downloaded', async () => {
      const f = facts!;
      const base = `${f.dir}/base-${tag}.qcow2`;
      writeFileSync(base, randomBytes(32 * 1024));
      const staged = await d.copyTemplateToPrimary(
        host,
        { uuid: `base-${tag}`, name: 'base', url: pathToFileURL(base).href, format: 'qcow2', sizeBytes: 1024 ** 3 },
        pool,
      );
      const clone = await d.createVolume(
        host,
        { uuid: `vol-d-${tag}`, name: 'clone', type: 'ROOT', sizeBytes: 1024 ** 3, format: 'qcow2', pool },
        { fromTemplate: { templateUuid: `base-${tag}`, path: staged.path } },
      );
      const uuid = `tmpl-d-${tag}`;
      // the overlay alone is not a template; what vol-create-from (qemu-img convert) writes on a real host is.
      // libvirt's test driver registers the copy without writing it, so the SSH user places its bytes at the
      // path libvirt gives the copy.
      const overlay = randomBytes(4096);
      const flattened = randomBytes(256 * 1024);
      writeFileSync(`${f.dir}/overlay-${tag}`, overlay);
      writeFileSync(`${f.dir}/flat-${tag}`, flattened);
      await transport().files.upload(`${f.dir}/overlay-${tag}`, clone.path);
      await transport().files.upload(`${f.dir}/flat-${tag}`, `${poolPath}/export-${uuid}.qcow2`);
      const r = await d.createTemplateFromVolume(host, { uuid: clone.uuid, pool }, target(uuid));
      expect(sha(readFileSync(`${secondaryDir}/${r.path}`))).toBe(sha(flattened));
      expect(r.physicalSizeBytes).toBe(flattened.length);
      const vols = await transport().virsh(['vol-list', '--pool', pool.uuid]);
      expect(vols).not.toContain(`export-${uuid}`);
      expect(vols).toContain(clone.uuid);
    });

    it('a connection dropped during every attempt fails with a typed Unreachable and leaves no partial file', async () => {
      const bytes = randomBytes(8 * 1024 * 1024);
      await volumeWithBytes(`vol-e-${tag}`, bytes);
      const uuid = `tmpl-e-${tag}`;
      const session = transport().session;
      let drops = 0;
      const op = d.createTemplateFromVolume(host, { uuid: `vol-e-${tag}`, pool }, target(uuid), {
        onProgress: (p) => {
          if (p > 1 && p < 100) {
            drops++;
            session.dropSftpConnection();
          }
        },
      });
      const outcome = await Promise.race([
        op.then(
          () => 'completed',
          (e: unknown) => e,
        ),
        new Promise((res) => setTimeout(() => res('hung'), 20_000)),
      ]);
      expect(DriverError.is(outcome, 'Unreachable')).toBe(true);
      expect((outcome as DriverError).scope?.kind).toBe('host');
      expect(drops).toBeGreaterThanOrEqual(2); // the first attempt and the one retry on a new connection
      expect(existsSync(templateDir(uuid)) ? readdirSync(templateDir(uuid)) : []).toEqual([]);
      // the host is reachable again afterwards, and the template is made on the next call
      const r = await d.createTemplateFromVolume(host, { uuid: `vol-e-${tag}`, pool }, target(uuid));
      expect(sha(readFileSync(`${secondaryDir}/${r.path}`))).toBe(sha(bytes));
    });

    it('one dropped connection mid-download is retried on a new one; the copy is whole', async () => {
      const bytes = randomBytes(8 * 1024 * 1024);
      await volumeWithBytes(`vol-f-${tag}`, bytes);
      const uuid = `tmpl-f-${tag}`;
      const session = transport().session;
      let dropped = false;
      const r = await d.createTemplateFromVolume(host, { uuid: `vol-f-${tag}`, pool }, target(uuid), {
        onProgress: (p) => {
          if (!dropped && p > 1 && p < 100) {
            dropped = true;
            session.dropSftpConnection();
          }
        },
      });
      expect(dropped).toBe(true);
      expect(sha(readFileSync(`${secondaryDir}/${r.path}`))).toBe(sha(bytes));
      expect(readdirSync(templateDir(uuid))).toEqual([`${uuid}.qcow2`]);
    });

    it('a store this management server has not mounted is Unsupported before anything runs', async () => {
      await expect(
        d.createTemplateFromVolume(
          host,
          { uuid: `vol-a-${tag}`, pool },
          {
            uuid: `tmpl-g-${tag}`,
            name: 'g',
            store: { uuid: 'elsewhere', url: 'nfs://10.9.9.9/other' },
          },
        ),
      ).rejects.toMatchObject({ driverCode: 'Unsupported' });
    });
  },
);
