import type { HypervisorDriver, ImageStore, ImageStoreDriver, Template, TrafficType } from '@stratus/core';

/** CPU and memory of a service offering. */
export interface OfferingSize {
  cpuNumber: number;
  /** MHz per core. */
  cpuSpeed: number;
  /** MiB. */
  memory: number;
}

/** How a host is reached (`cloud.hosts.add`'s `url` and `credentials`). */
export interface HostTarget {
  url: string;
  credentials?: { username: string; privateKey: string };
}

/**
 * What differs between the demo on the simulator and on KVM: the driver and image store the cloud is built with,
 * how many hosts there are and how each is reached, the bridges the traffic labels name, where primary storage,
 * secondary storage and the templates are, and offerings sized for the hosts. Everything else (the zone, the
 * tenants, the deployments, the tables) is the same story on either.
 */
export interface DemoHypervisor {
  /** `simulator` or `kvm` (`--hypervisor`). */
  readonly kind: 'simulator' | 'kvm';
  /** One line saying what runs the hosts, printed before the story. */
  readonly summary: string;
  readonly driver: HypervisorDriver;
  readonly imageStore: ImageStoreDriver;
  /** Pods in the zone, KVM clusters per pod, hosts per cluster (pod 2, if any, over-provisions CPU 2:1). */
  readonly layout: { pods: number; clustersPerPod: number; hostsPerCluster: number };
  /** The bridge (traffic label) each traffic type of the physical network uses on the hosts. */
  readonly trafficLabels: Readonly<Record<Extract<TrafficType, 'Management' | 'Public' | 'Guest'>, string>>;
  /** Offerings: small, medium (SSD storage) and large (GPU host). */
  readonly offerings: { small: OfferingSize; medium: OfferingSize; largeGpu: OfferingSize };
  /** The secondary storage (image store) URL. */
  readonly imageStoreUrl: string;
  /** The `n`-th host (from 1), in pod `pod` (from 1), with the management address `ip` the simulator reports. */
  hostTarget(n: number, pod: number, ip: string): HostTarget;
  /** The primary storage URL of cluster `cluster` of pod `pod`. */
  primaryStorageUrl(pod: number, cluster: number): string;
  /** Where the system-VM and the user template are downloaded from. */
  templateUrl(which: 'system' | 'user'): string;
  /** Called once a template is on the image store, before it is deployed from. */
  templateDownloaded(store: ImageStore, template: Template): void;
  /** Stops what {@link kind} started (after the cloud is closed). */
  close(): Promise<void>;
}
