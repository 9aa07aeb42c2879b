import {
  type CreateVolumeOptions,
  type DiskSpec,
  DriverError,
  type HostRef,
  InvalidParameterError,
  type OperationContext,
  type PoolRef,
  type PoolSpec,
  type StoragePoolReport,
  type VolumeRef,
  type VolumeResult,
  type VolumeSpec,
} from '@stratus/core';
import { diskElement } from './domain-xml.js';
import { fail, firstColumn, formatOf, type KvmHost, poolFail } from './kvm-host.js';
import { KvmMigration } from './kvm-migration.js';
import { isoPathOnHost } from './template-staging.js';
import { attr, buildXml, child, children, text, type XmlNode } from './xml.js';

/** KVM primary storage: libvirt pools, volumes, and disks and ISOs attached to VMs. */
export abstract class KvmStorage extends KvmMigration {
  protected poolDefinition(pool: PoolSpec): XmlNode {
    switch (pool.type) {
      case 'NetworkFilesystem':
        if (pool.server === undefined || pool.server === '')
          throw new InvalidParameterError('pool.server', pool.server, 'an NFS pool needs a server');
        return {
          '@_type': 'netfs',
          name: pool.uuid,
          source: { host: { '@_name': pool.server }, dir: { '@_path': pool.path }, format: { '@_type': 'nfs' } },
          target: { path: `/mnt/${pool.uuid}` },
        };
      case 'SharedMountPoint':
      case 'Filesystem':
        return { '@_type': 'dir', name: pool.uuid, target: { path: pool.path } };
      default:
        throw new DriverError('Unsupported', `kvm: pool type ${pool.type} is not supported by this driver`);
    }
  }

  protected poolReport(p: XmlNode): { capacityBytes: number; availableBytes: number; allocation: number } {
    return {
      capacityBytes: Number(text(p, 'capacity') ?? 0),
      availableBytes: Number(text(p, 'available') ?? 0),
      allocation: Number(text(p, 'allocation') ?? 0),
    };
  }

  protected async volumeNames(h: KvmHost, pool: string): Promise<string[]> {
    return firstColumn(await h.transport.virsh(['vol-list', '--pool', pool]));
  }

  createStoragePool(ref: HostRef, pool: PoolSpec, ctx?: OperationContext): Promise<StoragePoolReport> {
    const wanted = this.poolDefinition(pool);
    return this.locks.run(`pool:${ref.guid}:${pool.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          let p: XmlNode | undefined;
          try {
            p = await this.poolXml(h, pool.uuid);
          } catch (err) {
            if (!DriverError.is(err, 'NotFound')) throw err;
          }
          if (p !== undefined) {
            const same =
              attr(p, 'type') === wanted['@_type'] &&
              text(child(p, 'target'), 'path') === (wanted.target as { path: string }).path &&
              (wanted['@_type'] !== 'netfs' ||
                (attr(child(child(p, 'source'), 'host'), 'name') === pool.server &&
                  attr(child(child(p, 'source'), 'dir'), 'path') === pool.path));
            if (!same) throw poolFail('AlreadyExists', `pool ${pool.uuid} exists with a different location`, pool.uuid);
          } else {
            // transient, as CloudStack's LibvirtStorageAdaptor defines them
            await h.transport.virsh(['pool-create', '/dev/stdin'], { stdin: buildXml({ pool: wanted }) });
            p = await this.poolXml(h, pool.uuid);
          }
          const r = this.poolReport(p);
          const templates = (await this.volumeNames(h, pool.uuid))
            .map((n) => /^tmpl-(.+)\.(qcow2|raw|iso)$/.exec(n)?.[1])
            .filter((x): x is string => x !== undefined);
          return { capacityBytes: r.capacityBytes, availableBytes: r.availableBytes, templates };
        },
        ctx,
      ),
    );
  }

  deleteStoragePool(ref: HostRef, pool: PoolRef, ctx?: OperationContext): Promise<void> {
    return this.op(
      ref,
      async (h) => {
        const state = await h.transport.virsh(['pool-info', '--', pool.uuid]).catch((err: unknown) => {
          if (DriverError.is(err, 'NotFound')) return undefined;
          throw err;
        });
        if (state === undefined) return;
        if (/State:\s*running/i.test(state)) await h.transport.virsh(['pool-destroy', '--', pool.uuid]);
        if (/Persistent:\s*yes/i.test(state)) await h.transport.virsh(['pool-undefine', '--', pool.uuid]);
      },
      ctx,
    );
  }

  createVolume(ref: HostRef, volume: VolumeSpec, options?: CreateVolumeOptions): Promise<VolumeResult> {
    return this.locks.run(`volume:${ref.guid}:${volume.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          const pool = volume.pool.uuid;
          await this.poolXml(h, pool);
          const from = options?.fromTemplate;
          const existing = await this.volumeInfo(h, pool, volume.uuid);
          if (existing !== undefined) {
            const r = this.volumeResultOf(existing, volume.uuid, pool);
            const backing = text(child(existing, 'backingStore'), 'path');
            const same =
              r.format === formatOf(volume.format) &&
              (from !== undefined ? backing === from.path : backing === undefined && r.sizeBytes === volume.sizeBytes);
            if (!same) throw poolFail('AlreadyExists', `volume ${volume.uuid} exists with a different spec`, pool);
            return r;
          }
          const fmt = formatOf(volume.format);
          const args = ['vol-create-as', pool, volume.uuid, String(volume.sizeBytes), '--format', fmt];
          if (from !== undefined) args.push('--backing-vol', from.path, '--backing-vol-format', 'qcow2');
          try {
            try {
              await h.transport.virsh(args);
            } catch (err) {
              // Staged through another host of a shared pool: this host's libvirt has not listed the file yet.
              if (
                !DriverError.is(err, 'NotFound') ||
                from === undefined ||
                !(await this.adoptStagedFile(h, pool, from))
              )
                throw err;
              await h.transport.virsh(args);
            }
          } catch (err) {
            if (DriverError.is(err, 'NotFound') && from !== undefined)
              throw poolFail('NotFound', `template ${from.templateUuid} is not staged on pool ${pool}`, pool);
            if (DriverError.is(err, 'InsufficientCapacity'))
              throw poolFail('InsufficientCapacity', `pool ${pool} has no room for ${volume.uuid}`, pool);
            throw err;
          }
          const vol = await this.volumeInfo(h, pool, volume.uuid);
          if (vol === undefined) throw poolFail('DeviceError', `volume ${volume.uuid} vanished after create`, pool);
          return this.volumeResultOf(vol, volume.uuid, pool);
        },
        options,
      ),
    );
  }

  /**
   * Makes a template copy that another host staged on a shared pool known to this host's libvirt: `pool-refresh`
   * (what CloudStack's agent does before looking up a disk), and when the pool still does not list the file although
   * it is there (libvirt's test driver lists only volumes created through it) it is registered as a volume, as
   * {@link copyTemplateToPrimary} does. False when the file is not in the pool's directory.
   */
  private async adoptStagedFile(h: KvmHost, pool: string, from: { path: string }): Promise<boolean> {
    const dir = text(child(await this.poolXml(h, pool), 'target'), 'path') ?? '';
    const slash = from.path.lastIndexOf('/');
    const name = from.path.slice(slash + 1);
    if (dir === '' || from.path.slice(0, slash) !== dir.replace(/\/+$/, '')) return false;
    const bytes = await h.transport.files.size(from.path);
    if (bytes === undefined) return false;
    await h.transport.virsh(['pool-refresh', '--', pool]);
    if ((await this.volumeInfo(h, pool, name)) !== undefined) return true;
    const format = formatOf(name.slice(name.lastIndexOf('.') + 1));
    await h.transport.virsh(['vol-create-as', pool, name, String(bytes), '--format', format]);
    return (await this.volumeInfo(h, pool, name)) !== undefined;
  }

  deleteVolume(ref: HostRef, volume: VolumeRef, ctx?: OperationContext): Promise<void> {
    return this.locks.run(`volume:${ref.guid}:${volume.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          const vol = await this.volumeInfo(h, volume.pool.uuid, volume.uuid).catch((err: unknown) => {
            if (DriverError.is(err, 'NotFound')) return undefined;
            throw err;
          });
          if (vol === undefined) return;
          const path = text(child(vol, 'target'), 'path');
          const users = await this.domainsUsing(h, (d) =>
            children(child(d, 'devices'), 'disk').some((x) => attr(child(x, 'source'), 'file') === path),
          );
          if (users.length > 0)
            throw poolFail('InvalidState', `volume ${volume.uuid} is attached to VM ${users[0]}`, volume.pool.uuid);
          await h.transport
            .virsh(['vol-delete', '--pool', volume.pool.uuid, '--', volume.uuid])
            .catch((err: unknown) => {
              if (!DriverError.is(err, 'NotFound')) throw err;
            });
        },
        ctx,
      ),
    );
  }

  attachVolume(ref: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void> {
    if (disk.type === 'ISO')
      return Promise.reject(new InvalidParameterError('disk.type', disk.type, 'use attachIso for an ISO'));
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        if (current.some((x) => this.sameDisk(x, disk))) return;
        const users = await this.domainsUsing(h, (d) =>
          children(child(d, 'devices'), 'disk').some((x) => attr(child(x, 'source'), 'file') === disk.path),
        );
        if (users.some((u) => u !== vmName))
          throw fail('InvalidState', `volume ${disk.volumeUuid} is attached to VM ${users[0]}`, h);
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) => [...disks, diskElement(disk)]);
          return;
        }
        await h.transport.virsh(['attach-device', '--live', '--config', '--', vmName, '/dev/stdin'], {
          stdin: buildXml({ disk: diskElement(disk) }),
        });
      },
      ctx,
    );
  }

  detachVolume(ref: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        const found = current.find((x) => attr(x, 'device') !== 'cdrom' && this.sameDisk(x, disk));
        if (found === undefined) return;
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) =>
            disks.filter((x) => x !== disks.find((y) => this.sameDisk(y, disk) && attr(y, 'device') !== 'cdrom')),
          );
          return;
        }
        if (disk.type === 'ROOT') throw fail('InvalidState', `cannot detach the root disk of running VM ${vmName}`, h);
        await h.transport.virsh(['detach-device', '--live', '--config', '--', vmName, '/dev/stdin'], {
          stdin: buildXml({ disk: diskElement(disk) }),
        });
      },
      ctx,
    );
  }

  /**
   * Inserts an ISO into the VM's CD-ROM (`hdc`): the ISO's secondary-storage location is turned into a host path as
   * at start (NFS mounted, `file://` staged next to the VM's root disk); a running VM gets it live
   * (`change-media --insert --live --config`), a stopped one in its definition. The same ISO again is a no-op;
   * another ISO inserted is `AlreadyExists`.
   */
  attachIso(ref: HostRef, vmName: string, iso: DiskSpec, ctx?: OperationContext): Promise<void> {
    if (iso.type !== 'ISO')
      return Promise.reject(new InvalidParameterError('iso.type', iso.type, 'attachIso takes an ISO disk'));
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        const rootFile = current
          .filter((x) => attr(x, 'device') !== 'cdrom')
          .map((x) => attr(child(x, 'source'), 'file'))
          .find((f) => f !== undefined);
        const stageDir = rootFile !== undefined ? rootFile.slice(0, rootFile.lastIndexOf('/')) : undefined;
        const path = await isoPathOnHost(
          h,
          iso,
          stageDir !== undefined ? { dir: stageDir } : {},
          this.stagingOptions(ctx),
        );
        const cd = current.find((x) => attr(x, 'device') === 'cdrom' && attr(child(x, 'source'), 'file') !== undefined);
        if (cd !== undefined) {
          if (attr(child(cd, 'source'), 'file') === path) return;
          throw fail('AlreadyExists', `VM ${vmName} has another ISO inserted; detach it first`, h);
        }
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) => [
            ...disks.filter((x) => attr(x, 'device') !== 'cdrom'),
            diskElement({ ...iso, path }),
          ]);
          return;
        }
        if (current.some((x) => attr(x, 'device') === 'cdrom'))
          await h.transport.virsh(['change-media', '--', vmName, 'hdc', path, '--insert', '--live', '--config']);
        else
          await h.transport.virsh(['attach-device', '--live', '--config', '--', vmName, '/dev/stdin'], {
            stdin: buildXml({ disk: diskElement({ ...iso, path }) }),
          });
      },
      ctx,
    );
  }

  detachIso(ref: HostRef, vmName: string, _iso: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        const cd = current.find((x) => attr(x, 'device') === 'cdrom' && attr(child(x, 'source'), 'file') !== undefined);
        if (cd === undefined) return;
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) => disks.filter((x) => attr(x, 'device') !== 'cdrom'));
          return;
        }
        await h.transport.virsh(['change-media', '--', vmName, 'hdc', '--eject', '--live', '--config']);
      },
      ctx,
    );
  }
}
