import type { VirtualSwitchType } from './traffic-label.js';
import type { VimTlsOptions } from './vim-http.js';
import type { VimLogger } from './vim-logger.js';

/** Options of {@link vsphereDriver}. */
export interface VsphereDriverOptions {
  /** TLS trust for every vCenter (verified by default; `ca` pins a certificate or CA; `insecure` turns it off). */
  tls?: VimTlsOptions;
  /** Time limit of one SOAP call, connect included (default 30 s). */
  callTimeoutMs?: number;
  /** Time limit of one task (clone, relocate, import…; default 30 min). */
  taskTimeoutMs?: number;
  /** Time a graceful `ShutdownGuest` gets before the VM is powered off (default 60 s; `stopVm`'s `timeoutMs` wins). */
  shutdownTimeoutMs?: number;
  /**
   * Where this management server sees each secondary storage (image store), keyed by the store's URL
   * (`nfs://10.0.0.6/secondary`): templates (OVA) and ISOs are read from there and uploaded to datastores, templates
   * made from volumes are written there. Read at each call, so a program may fill it as stores are added.
   */
  secondaryStorageMounts?: Record<string, string>;
  /** Switch type of a traffic label that names none (`vmware.use.dvswitch`); default `vmwaresvs`. */
  defaultSwitchType?: VirtualSwitchType;
  /** Ports of each distributed port group the driver creates (`vmware.ports.per.dvportgroup`, default 256). */
  portsPerDvPortGroup?: number;
  /**
   * Put the host into vCenter maintenance mode in `prepareMaintenance` (`EnterMaintenanceMode_Task`) and take it out in
   * `cancelMaintenance`. Off by default: CloudStack leaves vCenter maintenance to the admin (drivers.md §2.8).
   */
  vcenterMaintenanceMode?: boolean;
  /**
   * The `localPath` (datastore name) of an NFS datastore the driver mounts with `CreateNasDatastore`; default the
   * pool's uuid. (The govmomi simulator needs an existing local directory here.)
   */
  nasLocalPath?: (pool: { uuid: string; name: string; server?: string; path: string }) => string;
  /** First VNC port given to VMs (ESXi ≤ 6.7 `RemoteDisplay.vnc.port`); default 5900, 100 ports. */
  vncPortBase?: number;
  logger?: VimLogger;
}
