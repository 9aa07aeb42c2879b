import type { BridgeBackend } from './domain-xml.js';
import type { HostKeyPolicy } from './host-key.js';

/** Options of {@link kvmDriver}. */
export interface KvmDriverOptions {
  /**
   * `ssh` (default): virsh over one kept SSH connection per host; `ConnectTarget.url` is
   * `ssh://user@host[:port]` or `qemu+ssh://user@host[:port]/system`, the key is `credentials.privateKey`.
   * `native`: the `@unraid/libvirt` binding (optional dependency) on this machine; `ConnectTarget.url` is the
   * libvirt URI itself (`qemu:///system`, `test+unix:///default?socket=…`, `qemu+ssh://…`).
   */
  mode?: 'ssh' | 'native';
  /**
   * How virsh runs in `ssh` mode. `session` (default): one interactive virsh per host kept open on the kept SSH
   * connection, commands queued through it. `exec`: one virsh process per command on the kept connection.
   */
  transport?: 'session' | 'exec';
  /**
   * The libvirt URI virsh opens on the host in `ssh` mode (default `qemu:///system`). Per host, a target URL that is
   * a libvirt URI over SSH (`qemu+ssh://root@h/system`, `test+ssh://u@h/default?socket=…`) names its own (see
   * `libvirtUriOnHost`), and `details.libvirtUri` overrides both.
   */
  libvirtUri?: string;
  /** SSH host-key check (default: `~/.ssh/known_hosts`). `{ insecureSkipVerify: true }` turns it off. */
  hostKey?: HostKeyPolicy;
  /** `<domain type>`: `kvm` (default), `test` for libvirt's test driver, `lxc`. */
  domainType?: string;
  /** Linux bridges (default) or Open vSwitch. */
  bridgeBackend?: BridgeBackend;
  /** Traffic type → bridge label, reported as the host's traffic labels (default public `cloudbr0`, guest/management `cloudbr1`). */
  trafficLabels?: Readonly<Record<string, string>>;
  /** Graceful shutdown wait before `destroy` when `stopVm` gets no `timeoutMs` (default 30 s). */
  shutdownTimeoutMs?: number;
  /** Deadline of one virsh command (default 120 s). */
  commandTimeoutMs?: number;
  /** SSH connect deadline (default 10 s). */
  connectTimeoutMs?: number;
  /** SSH keepalive interval (default 5 s; three missed drop the connection). */
  keepaliveIntervalMs?: number;
  /** Fixed VNC port for every domain instead of autoport (the test driver needs one). */
  vncPort?: number;
  /** User for `qemu+ssh://` migration URIs (default: the SSH user of the destination). */
  migrationUser?: string;
  /**
   * Where this management server has each secondary storage (image store) mounted, keyed by the store's URL
   * (`SecondaryStoreRef.url`, e.g. `nfs://10.0.0.6/secondary`) or uuid: `createTemplateFromVolume` downloads the
   * volume's file from the host over SFTP into `<dir>/template/tmpl/<uuid>/<uuid>.<format>`.
   */
  secondaryStorageMounts?: Readonly<Record<string, string>>;
  /**
   * Fallback for stores not in {@link secondaryStorageMounts}: `<root>/<store uuid>`, the layout of core's
   * `localImageStoreDriver({ root })`, so both see the same files.
   */
  secondaryStorageRoot?: string;
  /**
   * Parent directory on the hosts of the mounts of NFS secondary storage (CloudStack agent's `mount.parent`,
   * default `/mnt`): a template or ISO on `nfs://server/export/…` is read from `<mountParent>/<uuid>`, a libvirt
   * `netfs` pool the driver defines for its directory.
   */
  mountParent?: string;
}
