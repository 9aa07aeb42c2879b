import { simulatedImageStore, simulatorDriver } from '@stratus/driver-simulator';
import type { DemoHypervisor } from './demo-hypervisor.js';

const GiB = 1024;

/** Host shapes (cores, MHz per core, memory in MiB): small, medium, large. */
const SHAPES = [
  { cpus: 16, cpuMhz: 2400, memoryMiB: 64 * GiB },
  { cpus: 32, cpuMhz: 2600, memoryMiB: 128 * GiB },
  { cpus: 48, cpuMhz: 2100, memoryMiB: 256 * GiB },
];

/**
 * The embedded default: the simulator impersonating 16 KVM hosts of three shapes (2 pods × 2 clusters × 4 hosts),
 * NFS primary and secondary storage as the simulator pretends them, templates "downloaded" by the simulated image
 * store.
 */
export function simulatorHypervisor(): DemoHypervisor {
  return {
    kind: 'simulator',
    summary: 'simulator impersonating KVM hosts',
    driver: simulatorDriver({ type: 'KVM' }),
    imageStore: simulatedImageStore(),
    layout: { pods: 2, clustersPerPod: 2, hostsPerCluster: 4 },
    trafficLabels: { Management: 'cloudbr1', Public: 'cloudbr0', Guest: 'cloudbr1' },
    offerings: {
      small: { cpuNumber: 1, cpuSpeed: 500, memory: 512 },
      medium: { cpuNumber: 2, cpuSpeed: 1000, memory: 2048 },
      largeGpu: { cpuNumber: 8, cpuSpeed: 2000, memory: 16384 },
    },
    imageStoreUrl: 'nfs://192.168.10.6/export/secondary',
    hostTarget(n, _pod, ip) {
      const shape = SHAPES[(n - 1) % SHAPES.length]!;
      return {
        url: `sim://kvm-${String(n).padStart(2, '0')}?ip=${ip}&cpus=${shape.cpus}&cpuMhz=${shape.cpuMhz}&memoryMiB=${shape.memoryMiB}`,
      };
    },
    primaryStorageUrl: (pod, cluster) => `nfs://192.168.${pod}0.5/export/primary-${cluster}`,
    templateUrl: (which) =>
      which === 'system'
        ? 'http://download.example.org/systemvm/systemvmtemplate-4.19-kvm.qcow2.bz2'
        : 'http://download.example.org/images/ubuntu-22.04.qcow2',
    templateDownloaded() {},
    close: async () => {},
  };
}
