import {
  DriverError,
  type HostRef,
  InvalidParameterError,
  type OperationContext,
  type StartVmResult,
  type StopVmOptions,
  type VmRuntimeState,
  type VmSpec,
} from '@stratus/core';
import { domainXml } from './domain-xml.js';
import { fail, sleep } from './kvm-host.js';
import { KvmHostConnection } from './kvm-host-connection.js';
import { hasControlCharacters } from './virsh-quote.js';
import { attr, child, parseXml, text } from './xml.js';

/** KVM VM lifecycle: define and start from the VM spec, stop, reboot, destroy, power state, stats and console. */
export abstract class KvmVmLifecycle extends KvmHostConnection {
  protected validateSpec(spec: VmSpec): void {
    if (spec.name.trim() === '' || spec.name.includes('/') || hasControlCharacters(spec.name))
      throw new InvalidParameterError(
        'spec.name',
        spec.name,
        'a libvirt domain name must be non-empty, without "/" or control characters',
      );
    if (!Number.isInteger(spec.cpus) || spec.cpus < 1)
      throw new InvalidParameterError('spec.cpus', spec.cpus, 'must be a positive integer');
    if (!(spec.maxRamBytes > 0) || spec.minRamBytes > spec.maxRamBytes)
      throw new InvalidParameterError('spec.maxRamBytes', spec.maxRamBytes, 'must be positive and ≥ minRamBytes');
  }

  /** Whether the defined domain matches the spec (uuid, vCPUs, max memory). */
  protected sameSpec(xml: string, spec: VmSpec): boolean {
    const d = child(parseXml(xml), 'domain');
    const memKiB = Number(text(d, 'memory'));
    const unit = attr(child(d, 'memory'), 'unit') ?? 'KiB';
    const bytes = unit === 'KiB' ? memKiB * 1024 : unit === 'MiB' ? memKiB * 1024 ** 2 : memKiB;
    return (
      (text(d, 'uuid') ?? '').toLowerCase() === spec.uuid.toLowerCase() &&
      Number(text(d, 'vcpu')) === spec.cpus &&
      bytes === Math.ceil(spec.maxRamBytes / 1024) * 1024
    );
  }

  startVm(ref: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<StartVmResult> {
    try {
      this.validateSpec(spec);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.vmLocked(
      ref,
      spec.name,
      async (h) => {
        ctx?.onProgress?.(0, 'checking');
        const state = await h.transport.domainState(spec.name);
        if (state === 'running' || state === 'paused') {
          if (!this.sameSpec(await h.transport.domainXml(spec.name, true), spec)) {
            throw fail('AlreadyExists', `VM ${spec.name} is running with a different spec`, h);
          }
          return { console: await this.console(h, spec.name, spec) };
        }
        const bridges = new Map<number, string>();
        for (const nic of spec.nics) bridges.set(nic.deviceId, (await this.plumb(h, nic)).name);
        ctx?.onProgress?.(20, 'attaching ISOs');
        const disks = await this.disksOnHost(h, spec.disks, ctx);
        ctx?.onProgress?.(30, 'defining');
        await h.transport.defineDomain(
          domainXml(
            { ...spec, disks },
            {
              domainType: this.options.domainType ?? 'kvm',
              bridgeBackend: this.backend,
              bridges,
              ...(this.options.vncPort !== undefined ? { vncPort: this.options.vncPort } : {}),
            },
          ),
        );
        ctx?.onProgress?.(60, 'starting');
        try {
          await h.transport.startDomain(spec.name);
        } catch (err) {
          // a retry after a dropped connection may find it started already
          if (!(DriverError.is(err, 'InvalidState') && (await h.transport.domainState(spec.name)) === 'running'))
            throw err;
        }
        ctx?.onProgress?.(100, 'running');
        return { console: await this.console(h, spec.name, spec) };
      },
      ctx,
    );
  }

  stopVm(ref: HostRef, vmName: string, options?: StopVmOptions): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing' || state === 'stopped') return;
        if (options?.force !== true) {
          await h.transport.shutdownDomain(vmName).catch((err: unknown) => {
            if (!DriverError.is(err, 'InvalidState')) throw err;
          });
          const until = Date.now() + (options?.timeoutMs ?? this.options.shutdownTimeoutMs ?? 30_000);
          for (;;) {
            const s = await h.transport.domainState(vmName);
            if (s === 'stopped' || s === 'missing') return;
            if (Date.now() >= until || options?.signal?.aborted) break;
            await sleep(Math.min(500, Math.max(10, until - Date.now())));
          }
        }
        await h.transport.destroyDomain(vmName).catch((err: unknown) => {
          if (!DriverError.is(err, 'InvalidState', 'NotFound')) throw err;
        });
      },
      options,
    );
  }

  rebootVm(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        if (state !== 'running') throw fail('InvalidState', `VM ${vmName} is not running`, h);
        await h.transport.rebootDomain(vmName);
      },
      ctx,
    );
  }

  destroyVm(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') return;
        if (state !== 'stopped') {
          await h.transport.destroyDomain(vmName).catch((err: unknown) => {
            if (!DriverError.is(err, 'InvalidState', 'NotFound')) throw err;
          });
        }
        await h.transport.undefineDomain(vmName).catch(async (err: unknown) => {
          if (DriverError.is(err, 'NotFound')) return;
          // a domain with snapshots: drop their metadata with it (the volumes holding them are deleted by core)
          if (DriverError.is(err, 'InvalidState') && /snapshot/i.test(err.message))
            await h.transport.virsh(['undefine', '--snapshots-metadata', '--', vmName]);
          else throw err;
        });
      },
      ctx,
    );
  }

  getVmState(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<VmRuntimeState> {
    return this.op(ref, (h) => h.transport.domainState(vmName), ctx);
  }
}
