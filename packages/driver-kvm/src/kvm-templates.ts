import {
  DriverError,
  type HostRef,
  InvalidParameterError,
  type OperationContext,
  type PoolRef,
  type StagedTemplate,
  type TemplateResult,
  type TemplateSpec,
  type TemplateTarget,
  type VolumeRef,
} from '@stratus/core';
import { imageObjectPath } from '@stratus/core/driver-kit';
import { fail, formatOf, poolFail } from './kvm-host.js';
import { KvmStorage } from './kvm-storage.js';
import { downloadToLocalFile, insideDir, localSize, secondaryStoreDir } from './secondary-download.js';
import { stageSecondaryObject } from './template-staging.js';
import { buildXml, child, text } from './xml.js';

/** KVM templates: staging from secondary storage onto a primary pool, and templates written back from volumes. */
export abstract class KvmTemplates extends KvmStorage {
  copyTemplateToPrimary(
    ref: HostRef,
    template: TemplateSpec,
    pool: PoolRef,
    ctx?: OperationContext,
  ): Promise<StagedTemplate> {
    if (!this.capabilities().diskFormats.includes(template.format))
      return Promise.reject(new DriverError('Unsupported', `kvm: template format ${template.format}`));
    return this.locks.run(`template:${ref.guid}:${template.uuid}@${pool.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          const p = await this.poolXml(h, pool.uuid);
          const dir = text(child(p, 'target'), 'path') ?? '';
          const fmt = formatOf(template.format);
          const name = `tmpl-${template.uuid}.${fmt}`;
          const finalPath = `${dir}/${name}`;
          const physicalBytes = await stageSecondaryObject(h, template.url, finalPath, {
            mountParent: this.options.mountParent ?? '/mnt',
            locks: this.locks,
            poolUuid: pool.uuid,
            ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
            ...(ctx?.onProgress !== undefined ? { onProgress: ctx.onProgress } : {}),
          });
          await h.transport.virsh(['pool-refresh', '--', pool.uuid]);
          let vol = await this.volumeInfo(h, pool.uuid, name);
          if (vol === undefined) {
            // the pool did not pick the file up on refresh (libvirt's test driver): register it as a volume
            await h.transport.virsh([
              'vol-create-as',
              pool.uuid,
              name,
              String(Math.max(template.sizeBytes, physicalBytes)),
              '--format',
              fmt,
            ]);
            vol = await this.volumeInfo(h, pool.uuid, name);
          }
          ctx?.onProgress?.(100, 'staged');
          return {
            templateUuid: template.uuid,
            poolUuid: pool.uuid,
            path: text(child(vol, 'target'), 'path') ?? finalPath,
            sizeBytes: Math.max(template.sizeBytes, Number(text(vol, 'capacity') ?? 0)),
            physicalSizeBytes: physicalBytes,
          };
        },
        ctx,
      ),
    );
  }

  /**
   * Writes a template to secondary storage from a volume (`createTemplateFromVolume`). The volume is resolved
   * through libvirt (`vol-dumpxml`: its file, format, virtual size, backing file); a volume a running or paused
   * domain uses is `InvalidState`. A plain file of the wanted format (qcow2 unless `template.format` says raw) is
   * downloaded as it is; a clone (qcow2 with a backing file) or one of another format is first copied to a
   * temporary volume by libvirt (`vol-create-from`, which runs `qemu-img convert`: the chain flattened into one
   * image, as CloudStack's KVM agent does), downloaded, and the copy deleted. The download runs over the host's
   * kept SFTP connection into the store's local mount (`secondaryStorageMounts`), through a part file renamed into
   * place after its size is checked; progress goes to `ctx.onProgress`. Idempotent by template uuid: a complete
   * file already there is the answer.
   */
  createTemplateFromVolume(
    ref: HostRef,
    volume: VolumeRef,
    template: TemplateTarget,
    ctx?: OperationContext,
  ): Promise<TemplateResult> {
    let storeDir: string;
    let format: 'qcow2' | 'raw';
    let relative: string;
    let finalPath: string;
    try {
      if (template.format !== undefined && template.format !== 'qcow2' && template.format !== 'raw')
        throw new InvalidParameterError('template.format', template.format, 'a template from a volume is qcow2 or raw');
      format = template.format ?? 'qcow2';
      storeDir = secondaryStoreDir(template.store, this.options);
      relative = imageObjectPath({ uuid: template.uuid, kind: 'template', extension: format });
      finalPath = insideDir(storeDir, relative);
    } catch (err) {
      return Promise.reject(err);
    }
    const pool = volume.pool.uuid;
    return this.locks.run(`template-out:${template.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          ctx?.onProgress?.(0, 'resolving the volume');
          const vol = await this.volumeInfo(h, pool, volume.uuid);
          if (vol === undefined) throw poolFail('NotFound', `volume ${volume.uuid} is not on pool ${pool}`, pool);
          const source = this.volumeResultOf(vol, volume.uuid, pool);
          const backing = text(child(vol, 'backingStore'), 'path');
          const users = await this.activeDomainsUsing(h, source.path);
          if (users.length > 0)
            throw poolFail(
              'InvalidState',
              `volume ${volume.uuid} is in use by running VM ${users[0]}; stop it first`,
              pool,
            );
          const convert = (backing !== undefined && backing !== '') || source.format !== format;
          const result = (physicalSizeBytes: number): TemplateResult => ({
            uuid: template.uuid,
            store: { uuid: template.store.uuid, url: template.store.url },
            path: relative,
            format,
            sizeBytes: source.sizeBytes,
            physicalSizeBytes,
          });
          const present = await localSize(finalPath);
          if (present !== undefined) {
            // only a size-checked, complete copy is ever renamed to this name
            if (convert) return result(present);
            const remote = await h.transport.files.size(source.path);
            if (remote === present) return result(present);
            throw fail(
              'AlreadyExists',
              `template ${template.uuid} exists on ${template.store.url} with ${present} bytes, the volume has ${remote}`,
              h,
            );
          }
          let remotePath = source.path;
          const exportName = `export-${template.uuid}.${format}`;
          if (convert) {
            ctx?.onProgress?.(2, 'converting');
            await this.deleteVolumeByName(h, pool, exportName);
            const xml = buildXml({
              volume: {
                name: exportName,
                capacity: String(source.sizeBytes),
                target: { format: { '@_type': format } },
              },
            });
            await h.transport.virsh(['vol-create-from', '--inputpool', pool, '--', pool, '/dev/stdin', volume.uuid], {
              stdin: xml,
              ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
            });
            const copy = await this.volumeInfo(h, pool, exportName);
            remotePath = text(child(copy, 'target'), 'path') ?? '';
            if (copy === undefined || remotePath === '')
              throw poolFail('DeviceError', `the copy of volume ${volume.uuid} vanished`, pool);
          }
          try {
            if (ctx?.signal?.aborted) throw fail('Timeout', 'operation aborted', h);
            const bytes = await h.transport.files.size(remotePath);
            if (bytes === undefined)
              throw poolFail('NotFound', `volume ${volume.uuid} has no file ${remotePath} on host ${h.name}`, pool);
            const base = convert ? 5 : 1;
            let last = -1;
            await downloadToLocalFile(h.transport.files, remotePath, finalPath, bytes, (done, total) => {
              const pct = base + Math.floor((total > 0 ? done / total : 0) * (99 - base));
              if (pct > last) {
                last = pct;
                ctx?.onProgress?.(pct, 'downloading');
              }
            });
            ctx?.onProgress?.(100, 'written');
            return result(bytes);
          } finally {
            if (convert) await this.deleteVolumeByName(h, pool, exportName).catch(() => undefined);
          }
        },
        ctx,
      ),
    );
  }
}
