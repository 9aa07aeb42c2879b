import type { HostRef, MigrateVmOptions, MigrateVmResult, OperationContext, VmSpec } from '@stratus/core';
import { fail } from './kvm-host.js';
import { KvmVmLifecycle } from './kvm-vm-lifecycle.js';

/** KVM live migration over `qemu+ssh://`. */
export abstract class KvmMigration extends KvmVmLifecycle {
  prepareMigration(destination: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<void> {
    return this.op(
      destination,
      async (h) => {
        for (const nic of spec.nics) await this.plumb(h, nic);
        for (const disk of spec.disks) {
          if (disk.poolRef !== undefined) await this.poolXml(h, disk.poolRef.uuid);
        }
      },
      ctx,
    );
  }

  /** The `qemu+ssh://` URI libvirt on the source uses to reach the destination (drivers.md §3.1). */
  migrationUri(destination: HostRef): string {
    const h = this.host(destination);
    const user = this.options.migrationUser ?? h.sshUser ?? 'root';
    return `qemu+ssh://${encodeURIComponent(user)}@${h.ip}/system`;
  }

  migrateVm(
    source: HostRef,
    vmName: string,
    destination: HostRef,
    options?: MigrateVmOptions,
  ): Promise<MigrateVmResult> {
    return this.vmLocked(
      source,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        const args = ['migrate', '--persistent', '--undefinesource'];
        if (options?.live !== false) args.push('--live');
        if (options?.timeoutMs !== undefined) args.push('--timeout', String(Math.ceil(options.timeoutMs / 1000)));
        args.push('--', vmName, this.migrationUri(destination));
        options?.onProgress?.(0, 'migrating');
        await h.transport.virsh(args, {
          ...(options?.signal !== undefined ? { signal: options.signal } : {}),
          ...(options?.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs + 30_000 } : {}),
        });
        options?.onProgress?.(100, 'migrated');
        return { hostGuid: destination.guid };
      },
      options,
    );
  }
}
