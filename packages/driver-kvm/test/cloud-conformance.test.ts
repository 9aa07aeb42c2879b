import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ImageStoreDriver, localImageStoreDriver } from '@stratus/core';
import { describe } from 'vitest';
import type { CloudConformanceFixture } from '../../testkit/src/cloud-conformance.js';
import { cloudConformanceSuite } from '../../testkit/src/cloud-conformance-suite.js';
import { type KvmFacts, kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { type LibvirtTestDaemon, startLibvirtTestDaemon } from '../../testkit/src/harness/libvirt-test-daemon.js';
import { type KvmDriverOptions, kvmDriver, nativeBindingAvailable, secondaryPool } from '../src/index.js';

const facts = kvmFacts();
const native = await nativeBindingAvailable();

/** Serves the template and ISO files over http on loopback, as a web server an admin registers them from. */
async function imageServer(dir: string): Promise<{ base: string; server: Server }> {
  writeFileSync(`${dir}/conformance.qcow2`, Buffer.alloc(256 * 1024, 7));
  writeFileSync(`${dir}/conformance.iso`, Buffer.alloc(128 * 1024, 9));
  const files: Record<string, string> = {
    '/conformance.qcow2': `${dir}/conformance.qcow2`,
    '/conformance.iso': `${dir}/conformance.iso`,
  };
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The NFS server the image store is added as (nothing serves it: see {@link nfsMountView}). */
const NFS_SERVER = '127.0.0.1';

/**
 * What an NFS mount of the image store would show on the hosts. The image store is added as
 * `nfs://127.0.0.1/export/…` and core's `localImageStoreDriver` writes its files into a local directory; to stage a
 * template or attach an ISO the KVM driver mounts the object's directory through a libvirt `netfs` pool, which the
 * test driver accepts but mounts nothing for. So after each download the mount point the driver will name
 * (`<mountParent>/<uuid of server + directory>`) is made a link to that directory (as cloud-deploy.test.ts and the
 * KVM demo do). Everything else goes to the wrapped driver as it is.
 */
function nfsMountView(
  inner: ImageStoreDriver,
  root: string,
  exportPath: string,
  mountParent: string,
): ImageStoreDriver {
  return {
    async download(store, request, options) {
      const object = await inner.download(store, request, options);
      const dir = path.dirname(object.path);
      const mountPoint = secondaryPool(NFS_SERVER, `${exportPath}/${dir}`, mountParent).target;
      if (!existsSync(mountPoint)) symlinkSync(`${root}/${store.uuid}/${dir}`, mountPoint);
      return object;
    },
    delete: (store, objectPath, options) => inner.delete(store, objectPath, options),
    stat: (store, objectPath, options) => inner.stat(store, objectPath, options),
  };
}

/** The bridge every traffic type is labelled with on both hosts. */
const LABEL = 'cloudbr1';
const BRIDGE_XML = `<interface type='bridge' name='${LABEL}'><start mode='onboot'/><bridge stp='off'><interface type='ethernet' name='eth1'/></bridge></interface>`;

/** A directory the test user of the SSH transports may write into. */
function sharedDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

/**
 * Two KVM hosts on this machine, each its own libvirtd serving the test driver under its own host name (the host's
 * name and guid); with `tcp`, each listens on its own loopback address (the host's management address in native
 * mode).
 */
async function twoDaemons(dir: string, tag: string, tcp: readonly string[] | undefined): Promise<LibvirtTestDaemon[]> {
  const daemons: LibvirtTestDaemon[] = [];
  try {
    for (const n of [1, 2]) {
      const hostDir = sharedDir(`${dir}/host-${n}`);
      const address = tcp?.[n - 1];
      daemons.push(
        await startLibvirtTestDaemon({
          dir: hostDir,
          hostname: `kvm-${tag}-${n}`,
          ...(address !== undefined ? { tcp: { address } } : {}),
        }),
      );
      // The traffic label: a Linux bridge over the test driver's one interface, as on a CloudStack KVM host.
      writeFileSync(`${hostDir}/${LABEL}.xml`, BRIDGE_XML);
      execFileSync('virsh', ['-q', '-c', daemons[n - 1]!.uri, 'iface-define', `${hostDir}/${LABEL}.xml`]);
      execFileSync('virsh', ['-q', '-c', daemons[n - 1]!.uri, 'iface-start', LABEL]);
    }
  } catch (err) {
    await Promise.all(daemons.map((d) => d.stop()));
    throw err;
  }
  return daemons;
}

/**
 * One KVM cloud: two distinct hosts (`hostsOf` the two daemons), a shared mount point pool writable by the SSH user,
 * an image store added as NFS (core's `localImageStoreDriver` behind {@link nfsMountView}; the KVM driver writes
 * templates made from volumes into the same directory), a qcow2 template and an ISO served over http.
 */
async function fixture(
  f: KvmFacts,
  tag: string,
  driverOptions: KvmDriverOptions,
  tcp: readonly string[] | undefined,
  hostsOf: (daemons: LibvirtTestDaemon[]) => CloudConformanceFixture['hosts'],
): Promise<CloudConformanceFixture> {
  const dir = sharedDir(`${f.dir}/cloud-${tag}`);
  const imageRoot = sharedDir(`${dir}/secondary`);
  const mountParent = sharedDir(`${dir}/mnt`);
  const pool = sharedDir(`${f.poolDir}/cloud-${tag}`);
  const exportPath = `/export/conformance-${tag}`;
  const daemons = await twoDaemons(dir, tag, tcp);
  const images = await imageServer(dir);
  const driver = kvmDriver({
    domainType: 'test',
    secondaryStorageRoot: imageRoot,
    mountParent,
    trafficLabels: { Guest: LABEL, Public: LABEL, Management: LABEL },
    ...driverOptions,
  });
  return {
    driver,
    hosts: hostsOf(daemons),
    sharedStorageUrl: `sharedmountpoint://${pool}`,
    imageStore: {
      driver: nfsMountView(localImageStoreDriver({ root: imageRoot }), imageRoot, exportPath, mountParent),
      url: `nfs://${NFS_SERVER}${exportPath}`,
    },
    template: { url: `${images.base}/conformance.qcow2`, format: 'QCOW2' },
    iso: { url: `${images.base}/conformance.iso` },
    trafficLabel: LABEL,
    expectedFailures: {
      "template from the stopped VM's root volume":
        "libvirt's test driver keeps volumes in memory: the root volume (and the flattened copy `vol-create-from` makes of it) has no file on the host to copy into the image store",
    },
    async teardown() {
      await driver.close();
      await new Promise<void>((resolve) => images.server.close(() => resolve()));
      await Promise.all(daemons.map((d) => d.stop()));
    },
  };
}

for (const transport of ['session', 'exec'] as const) {
  describe.skipIf(facts === null)(
    `kvm over ssh (${transport}) ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
    () => {
      cloudConformanceSuite(`kvm: virsh ${transport} over a real sshd → libvirtd test driver`, async () => {
        const f = facts!;
        const credentials = { username: f.sshUser, privateKey: readFileSync(f.keyFile, 'utf8') };
        // Host n is the test sshd on its own loopback address, and virsh there opens host n's daemon: the URL is a
        // libvirt URI over SSH naming that daemon's socket.
        return fixture(
          f,
          transport,
          { transport, hostKey: { knownHostsFile: f.knownHostsFile }, vncPort: 5911 },
          undefined,
          (daemons) => {
            const host = (n: 0 | 1) => ({
              url: `test+ssh://${f.sshUser}@${f.hostAddresses[n]}:${f.sshPort}/default?socket=${new URL(daemons[n]!.uri).searchParams.get('socket')}`,
              credentials,
            });
            return [host(0), host(1)];
          },
        );
      });
    },
  );
}

describe.skipIf(facts === null || !native)(
  `kvm native ${native ? '' : '(skipped: @unraid/libvirt not installed)'}`,
  () => {
    cloudConformanceSuite('kvm: native binding → libvirtd test driver', async () => {
      const f = facts!;
      return fixture(f, 'native', { mode: 'native', vncPort: 5912 }, f.hostAddresses, (daemons) => [
        { url: daemons[0]!.tcpUri! },
        { url: daemons[1]!.tcpUri! },
      ]);
    });
  },
);
