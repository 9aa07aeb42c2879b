import {
  DriverError,
  type HostRef,
  type OperationContext,
  type RevertVmSnapshotResult,
  type SnapshotBackupResult,
  type SnapshotResult,
  type VmSnapshotResult,
  type VmSnapshotSpec,
  type VolumeResult,
} from '@stratus/core';
import { fail, type KvmHost } from './kvm-host.js';
import { KvmTemplates } from './kvm-templates.js';
import { withoutControlCharacters } from './virsh-quote.js';
import { attr, child, parseXml, text } from './xml.js';

/** KVM VM snapshots (`virsh snapshot-*`, named by core's uuid); volume snapshots are not implemented yet. */
export abstract class KvmSnapshots extends KvmTemplates {
  /** A domain snapshot's facts, undefined when it does not exist. */
  protected async vmSnapshotInfo(
    h: KvmHost,
    vmName: string,
    uuid: string,
  ): Promise<{ withMemory: boolean; description: string } | undefined> {
    let xml: string;
    try {
      xml = await h.transport.virsh(['snapshot-dumpxml', '--', vmName, uuid]);
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) return undefined;
      throw err;
    }
    const s = child(parseXml(xml), 'domainsnapshot');
    const state = text(s, 'state') ?? '';
    const memory = attr(child(s, 'memory'), 'snapshot');
    return {
      // a snapshot taken of a live domain holds its memory (internal checkpoint) unless it says otherwise
      withMemory: ['running', 'paused', 'blocked', 'pmsuspended'].includes(state) && memory !== 'no',
      description: text(s, 'description') ?? '',
    };
  }

  /**
   * `snapshot-create-as`: with memory of a running VM (internal checkpoint), or disk-only of a stopped one; a
   * disk-only snapshot of a running VM asks libvirt for `--disk-only --atomic` (external overlays), which a host
   * may refuse (`Unsupported`). Idempotent by uuid.
   */
  createVmSnapshot(
    ref: HostRef,
    vmName: string,
    snapshot: VmSnapshotSpec,
    ctx?: OperationContext,
  ): Promise<VmSnapshotResult> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        const existing = await this.vmSnapshotInfo(h, vmName, snapshot.uuid);
        if (existing !== undefined) {
          if (existing.withMemory !== snapshot.withMemory)
            throw fail('AlreadyExists', `VM snapshot ${snapshot.uuid} exists with a different spec`, h);
          return { uuid: snapshot.uuid };
        }
        const live = state === 'running' || state === 'paused';
        if (snapshot.withMemory && !live)
          throw fail('InvalidState', `VM ${vmName} must be running for a snapshot with memory`, h);
        const description = withoutControlCharacters([snapshot.name, snapshot.description].filter(Boolean).join(': '));
        const args = ['snapshot-create-as', '--description', description];
        if (!snapshot.withMemory && live) args.push('--disk-only', '--atomic');
        if (snapshot.quiesce === true && live) args.push('--quiesce');
        args.push('--', vmName, snapshot.uuid);
        await h.transport.virsh(args, ctx?.signal !== undefined ? { signal: ctx.signal } : {});
        return { uuid: snapshot.uuid };
      },
      ctx,
    );
  }

  /** `snapshot-delete`; a missing VM or snapshot is success. */
  deleteVmSnapshot(ref: HostRef, vmName: string, snapshotUuid: string, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        if ((await h.transport.domainState(vmName)) === 'missing') return;
        await h.transport.virsh(['snapshot-delete', '--', vmName, snapshotUuid]).catch((err: unknown) => {
          if (!DriverError.is(err, 'NotFound')) throw err;
        });
      },
      ctx,
    );
  }

  /**
   * `snapshot-revert`: a snapshot with memory leaves the VM running, a disk-only one stopped; reverting a running
   * VM to a disk-only snapshot is refused (`InvalidState`: stop it first), as CloudStack does.
   */
  revertVmSnapshot(
    ref: HostRef,
    vmName: string,
    snapshotUuid: string,
    ctx?: OperationContext,
  ): Promise<RevertVmSnapshotResult> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        const snap = await this.vmSnapshotInfo(h, vmName, snapshotUuid);
        if (snap === undefined) throw fail('NotFound', `VM ${vmName} has no snapshot ${snapshotUuid}`, h);
        if (!snap.withMemory && state !== 'stopped')
          throw fail('InvalidState', `VM ${vmName} must be stopped to revert to a disk-only snapshot`, h);
        await h.transport.virsh(['snapshot-revert', '--', vmName, snapshotUuid]);
        const after = await h.transport.domainState(vmName);
        return { powerState: after === 'running' || after === 'paused' ? 'PowerOn' : 'PowerOff' };
      },
      ctx,
    );
  }

  createSnapshot(): Promise<SnapshotResult> {
    return this.unsupported('volume snapshots');
  }

  backupSnapshot(): Promise<SnapshotBackupResult> {
    return this.unsupported('snapshot backup');
  }

  deleteSnapshot(): Promise<void> {
    return this.unsupported('volume snapshots');
  }

  createVolumeFromSnapshot(): Promise<VolumeResult> {
    return this.unsupported('volumes from snapshots');
  }
}
