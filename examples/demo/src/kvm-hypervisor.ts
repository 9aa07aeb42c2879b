import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localImageStoreDriver } from '@stratus/core';
import { kvmDriver, secondaryPool } from '@stratus/driver-kvm';
import { type LibvirtTestDaemon, startLibvirtTestDaemon } from '@stratus/testkit/libvirt-test-daemon';
import type { DemoHypervisor } from './demo-hypervisor.js';
import { type ImageServer, startImageServer } from './image-server.js';

/** The NFS export the image store is added as; nothing serves it (see {@link kvmHypervisor}). */
const NFS_SERVER = '127.0.0.1';
const NFS_EXPORT = '/export/secondary';
/** The one interface libvirt's test driver has: every traffic type is labelled with it. */
const TEST_DRIVER_INTERFACE = 'eth1';
const LAYOUT = { pods: 2, clustersPerPod: 1, hostsPerCluster: 2 };
/** Host `n` (from 1) is reached at 127.0.0.(10 + n): one loopback address per host. */
const hostAddress = (n: number) => `127.0.0.${10 + n}`;
const hostName = (n: number) => `kvm-${String(n).padStart(2, '0')}`;

/**
 * KVM through `@stratus/driver-kvm` in native mode (the `@unraid/libvirt` binding, virsh for what it lacks) against
 * libvirt's test driver. Started here, stopped by `close()`, everything in one temporary directory:
 *
 * - one libvirtd per host (2 pods × 1 cluster × 2 hosts), serving only the test driver, each under its own host
 *   name (`kvm-01`…, the host's name and guid) and on its own loopback address (`127.0.0.11`…, the host's
 *   management address), reached as `test+tcp://127.0.0.1N:<port>/default`. A test-driver host has 16 CPUs at
 *   1400 MHz and 3 GiB, so the offerings are small; its domains run nothing.
 * - primary storage: a shared-mount-point directory per cluster, which both hosts of the cluster define as a pool.
 * - secondary storage: an image store added as `nfs://127.0.0.1/export/secondary`, as CloudStack documents it,
 *   whose files core's `localImageStoreDriver` writes into a local directory. To stage a template the host mounts
 *   its directory through a libvirt `netfs` pool; the test driver accepts the pool but mounts nothing, so the
 *   mount point (`<mountParent>/<uuid>`) is made a link to the template's directory in the store
 *   ({@link DemoHypervisor.templateDownloaded}), as an NFS mount would show it.
 * - templates: a placeholder image served by a local HTTP server, downloaded to secondary storage by core.
 */
export async function kvmHypervisor(): Promise<DemoHypervisor> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stratus-demo-kvm-'));
  chmodSync(dir, 0o755);
  const storesRoot = `${dir}/secondary`;
  const mountParent = `${dir}/mnt`;
  const primary = `${dir}/primary`;
  for (const d of [storesRoot, mountParent, primary]) mkdirSync(d, { recursive: true });
  const hostCount = LAYOUT.pods * LAYOUT.clustersPerPod * LAYOUT.hostsPerCluster;
  let daemons: LibvirtTestDaemon[] = [];
  let images: ImageServer | undefined;
  const stop = async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await images?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    daemons = await Promise.all(
      Array.from({ length: hostCount }, (_, i) => {
        const hostDir = `${dir}/host-${i + 1}`;
        mkdirSync(hostDir);
        return startLibvirtTestDaemon({
          dir: hostDir,
          hostname: hostName(i + 1),
          tcp: { address: hostAddress(i + 1) },
        });
      }),
    );
    // A placeholder image: libvirt's test driver boots nothing, so any bytes serve.
    images = await startImageServer({
      '/systemvm.qcow2': randomBytes(256 * 1024),
      '/ubuntu.qcow2': randomBytes(512 * 1024),
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const driver = kvmDriver({
    mode: 'native',
    domainType: 'test',
    vncPort: 5901,
    bridgeBackend: 'openvswitch',
    mountParent,
    trafficLabels: { Guest: TEST_DRIVER_INTERFACE, Public: TEST_DRIVER_INTERFACE, Management: TEST_DRIVER_INTERFACE },
  });
  const base = images.base;
  return {
    kind: 'kvm',
    summary:
      `@stratus/driver-kvm (native binding) on ${hostCount} libvirtd daemons serving libvirt's test driver ` +
      `(${hostName(1)}…${hostName(hostCount)} at ${hostAddress(1)}…${hostAddress(hostCount)}), in ${dir}`,
    driver,
    imageStore: localImageStoreDriver({ root: storesRoot }),
    layout: LAYOUT,
    trafficLabels: { Management: TEST_DRIVER_INTERFACE, Public: TEST_DRIVER_INTERFACE, Guest: TEST_DRIVER_INTERFACE },
    offerings: {
      small: { cpuNumber: 1, cpuSpeed: 500, memory: 128 },
      medium: { cpuNumber: 2, cpuSpeed: 700, memory: 256 },
      largeGpu: { cpuNumber: 4, cpuSpeed: 1400, memory: 512 },
    },
    imageStoreUrl: `nfs://${NFS_SERVER}${NFS_EXPORT}`,
    hostTarget(n) {
      const daemon = daemons[n - 1];
      if (daemon?.tcpUri === undefined) throw new Error(`the KVM demo has ${hostCount} hosts, not ${n}`);
      return { url: daemon.tcpUri };
    },
    primaryStorageUrl(pod, cluster) {
      const poolDir = `${primary}/pod-${pod}-cluster-${cluster}`;
      mkdirSync(poolDir, { recursive: true });
      return `sharedmountpoint://${poolDir}`;
    },
    templateUrl: (which) => `${base}/${which === 'system' ? 'systemvm' : 'ubuntu'}.qcow2`,
    templateDownloaded(store, template) {
      const templateDir = `template/tmpl/${template.uuid}`;
      const mountPoint = secondaryPool(NFS_SERVER, `${NFS_EXPORT}/${templateDir}`, mountParent).target;
      symlinkSync(`${storesRoot}/${store.uuid}/${templateDir}`, mountPoint);
    },
    async close() {
      await driver.close();
      await stop();
    },
  };
}
