import { DriverError, type DriverErrorScope } from '@stratus/core';
import type { DomainState, DomainSummary, NodeInfo } from './libvirt-transport.js';
import { LocalVirshTransport } from './local-transport.js';
import { virshErrorCode } from './virsh-error.js';

/** The parts of `@unraid/libvirt`'s API used here (the binding is an optional dependency). */
interface NativeDomain {
  getName(): Promise<string>;
  getInfo(): Promise<{ state: number; maxMem: number; memory: number; nrVirtCpu: number }>;
}
interface NativeHypervisor {
  connectOpen(): Promise<void>;
  connectClose(): Promise<void>;
  connectListAllDomains(): Promise<NativeDomain[]>;
  domainDefineXML(xml: string): Promise<NativeDomain>;
  domainLookupByName(name: string): Promise<NativeDomain>;
  domainCreate(d: NativeDomain): Promise<void>;
  domainShutdown(d: NativeDomain): Promise<void>;
  domainDestroy(d: NativeDomain): Promise<void>;
  domainUndefine(d: NativeDomain): Promise<void>;
  domainGetXMLDesc(d: NativeDomain, flags?: number): Promise<string>;
  nodeGetInfo(): Promise<{
    model: string;
    memory: number;
    cpus: number;
    mhz: number;
    sockets: number;
    cores: number;
    threads: number;
  }>;
}
interface NativeModule {
  Hypervisor: new (options: { uri: string }) => NativeHypervisor;
}

/** Whether the optional native binding is installed and loads. */
export async function nativeBindingAvailable(): Promise<boolean> {
  try {
    await loadBinding();
    return true;
  } catch {
    return false;
  }
}

async function loadBinding(): Promise<NativeModule> {
  const name = '@unraid/libvirt';
  return (await import(name)) as NativeModule;
}

/** libvirt `virDomainState` numbers (drivers.md §3.7). */
function stateOf(n: number): DomainState {
  switch (n) {
    case 1:
    case 2:
      return 'running';
    case 3:
    case 7:
      return 'paused';
    case 4:
      return 'running';
    case 5:
    case 6:
      return 'stopped';
    default:
      return 'unknown';
  }
}

/**
 * The local mode through the native binding (`@unraid/libvirt`): one kept libvirt connection for domain
 * operations and node facts; what the binding lacks (reboot, storage pools and volumes, interfaces,
 * capabilities, drivers.md §3.7) runs through local virsh against the same URI. Errors map to the same typed
 * codes as virsh's.
 */
export class NativeTransport extends LocalVirshTransport {
  override readonly kind = 'native' as const;
  private hv: NativeHypervisor | undefined;
  private opening: Promise<NativeHypervisor> | undefined;

  constructor(libvirtUri: string, scope: DriverErrorScope) {
    super(libvirtUri, scope);
  }

  private typed(what: string, err: unknown): DriverError {
    if (err instanceof DriverError) return err;
    const message = (err as Error)?.message ?? String(err);
    const vendorCode = (err as { code?: number | string }).code;
    return new DriverError(virshErrorCode(message), `kvm: libvirt ${what} failed: ${message}`, {
      scope: this.scope,
      vendorMessage: message,
      ...(vendorCode !== undefined ? { vendorCode } : {}),
      cause: err,
    });
  }

  private async conn(): Promise<NativeHypervisor> {
    if (this.hv !== undefined) return this.hv;
    if (this.opening !== undefined) return this.opening;
    this.opening = (async () => {
      let mod: NativeModule;
      try {
        mod = await loadBinding();
      } catch (err) {
        throw new DriverError('Unsupported', 'kvm: the native binding @unraid/libvirt is not installed', {
          scope: this.scope,
          cause: err,
        });
      }
      const hv = new mod.Hypervisor({ uri: this.libvirtUri });
      try {
        await hv.connectOpen();
      } catch (err) {
        const e = this.typed('connect', err);
        throw e.driverCode === 'DeviceError'
          ? new DriverError('Unreachable', e.message, { scope: this.scope, cause: err })
          : e;
      }
      this.hv = hv;
      return hv;
    })();
    try {
      return await this.opening;
    } finally {
      this.opening = undefined;
    }
  }

  private async call<T>(what: string, fn: (hv: NativeHypervisor) => Promise<T>): Promise<T> {
    const hv = await this.conn();
    try {
      return await fn(hv);
    } catch (err) {
      const typed = this.typed(what, err);
      if (typed.driverCode === 'Unreachable') this.hv = undefined; // reopen on the next call
      throw typed;
    }
  }

  override async listDomains(): Promise<DomainSummary[]> {
    return this.call('list domains', async (hv) => {
      const out: DomainSummary[] = [];
      for (const d of await hv.connectListAllDomains()) {
        const info = await d.getInfo();
        const state = stateOf(info.state);
        out.push({ name: await d.getName(), active: state === 'running' || state === 'paused' });
      }
      return out;
    });
  }

  override async domainState(name: string): Promise<DomainState> {
    try {
      return await this.call('get domain state', async (hv) =>
        stateOf((await (await hv.domainLookupByName(name)).getInfo()).state),
      );
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) return 'missing';
      throw err;
    }
  }

  override async defineDomain(xml: string): Promise<void> {
    await this.call('define', (hv) => hv.domainDefineXML(xml));
  }
  override async startDomain(name: string): Promise<void> {
    await this.call('start', async (hv) => hv.domainCreate(await hv.domainLookupByName(name)));
  }
  override async shutdownDomain(name: string): Promise<void> {
    await this.call('shutdown', async (hv) => hv.domainShutdown(await hv.domainLookupByName(name)));
  }
  override async destroyDomain(name: string): Promise<void> {
    await this.call('destroy', async (hv) => hv.domainDestroy(await hv.domainLookupByName(name)));
  }
  override async undefineDomain(name: string): Promise<void> {
    await this.call('undefine', async (hv) => hv.domainUndefine(await hv.domainLookupByName(name)));
  }
  override async domainXml(name: string, inactive = false): Promise<string> {
    // VIR_DOMAIN_XML_INACTIVE = 2
    return this.call('dumpxml', async (hv) => hv.domainGetXMLDesc(await hv.domainLookupByName(name), inactive ? 2 : 0));
  }
  override async nodeInfo(): Promise<NodeInfo> {
    return this.call('node info', async (hv) => {
      const n = await hv.nodeGetInfo();
      return {
        model: n.model,
        cpus: n.cpus,
        mhz: n.mhz,
        sockets: n.sockets,
        coresPerSocket: n.cores,
        threadsPerCore: n.threads,
        memoryKiB: n.memory,
      };
    });
  }

  override async close(): Promise<void> {
    const hv = this.hv;
    this.hv = undefined;
    await hv?.connectClose().catch(() => undefined);
  }
}
