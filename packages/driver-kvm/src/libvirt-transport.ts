import type { DriverErrorScope } from '@stratus/core';

/** A domain's state as the driver needs it. */
export type DomainState = 'running' | 'paused' | 'stopped' | 'unknown' | 'missing';

/** One domain in a listing. */
export interface DomainSummary {
  name: string;
  /** Running or paused (libvirt "active"). */
  active: boolean;
}

/** Host facts from `nodeinfo` / `virNodeGetInfo`. */
export interface NodeInfo {
  model: string;
  cpus: number;
  mhz: number;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  memoryKiB: number;
}

/** Options of one virsh call. */
export interface VirshOptions {
  /** Sent on stdin (XML for `define /dev/stdin`). */
  stdin?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Progress of a file transfer. */
export type TransferProgress = (transferredBytes: number, totalBytes: number) => void;

/** Files on the host: SFTP over SSH, the local file system in local mode. */
export interface HostFiles {
  /** Size of a regular file, undefined when missing. */
  size(remotePath: string): Promise<number | undefined>;
  upload(localPath: string, remotePath: string, onProgress?: TransferProgress): Promise<void>;
  download(remotePath: string, localPath: string, onProgress?: TransferProgress): Promise<void>;
  /** Atomic rename on the host (POSIX rename; replaces the target). */
  rename(from: string, to: string): Promise<void>;
  /** Delete; missing is fine. */
  remove(remotePath: string): Promise<void>;
  /**
   * Copies a file to another path on the host itself (no bytes through this process), sparse where the file
   * system allows: how a template is copied from a secondary-storage mount into a primary pool. A missing source is
   * `NotFound`; any other failure `DeviceError` with the host's message.
   */
  copy(fromPath: string, toPath: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
  /** Creates a directory and its parents on the host; an existing one is fine. */
  mkdir(remotePath: string): Promise<void>;
}

/**
 * How the KVM driver talks to one host's libvirt (drivers.md §3.7): virsh over SSH by default, or the native
 * binding locally. Both implement the same operations and raise the same typed `DriverError`s.
 */
export interface LibvirtTransport {
  readonly kind: 'ssh' | 'native' | 'local';
  /** The scope typed errors carry (the host). */
  readonly scope: DriverErrorScope;
  /** Runs one virsh command (arguments unquoted; the transport quotes), returning stdout; failures are typed. */
  virsh(args: readonly string[], options?: VirshOptions): Promise<string>;
  listDomains(): Promise<DomainSummary[]>;
  domainState(name: string): Promise<DomainState>;
  defineDomain(xml: string): Promise<void>;
  startDomain(name: string): Promise<void>;
  shutdownDomain(name: string): Promise<void>;
  destroyDomain(name: string): Promise<void>;
  rebootDomain(name: string): Promise<void>;
  undefineDomain(name: string): Promise<void>;
  domainXml(name: string, inactive?: boolean): Promise<string>;
  nodeInfo(): Promise<NodeInfo>;
  readonly files: HostFiles;
  close(): Promise<void>;
}
