import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localImageStoreDriver } from '@stratus/core';
import { describe } from 'vitest';
import type { CloudConformanceFixture } from '../../testkit/src/cloud-conformance.js';
import { cloudConformanceSuite } from '../../testkit/src/cloud-conformance-suite.js';
import { type KvmFacts, kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { type KvmDriverOptions, kvmDriver, nativeBindingAvailable } from '../src/index.js';
import { sshTarget } from './kvm-fixtures.js';

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

/**
 * One KVM cloud: two hosts (the fixture's targets), a shared mount point pool writable by the SSH user, a local
 * directory image store (core's `localImageStoreDriver`, the KVM driver staging from the same directory), a qcow2
 * template and an ISO served over http.
 */
async function fixture(
  f: KvmFacts,
  tag: string,
  driverOptions: KvmDriverOptions,
  hosts: CloudConformanceFixture['hosts'],
): Promise<CloudConformanceFixture> {
  const dir = `${f.dir}/cloud-${tag}`;
  const imageRoot = `${dir}/secondary`;
  const pool = `${f.poolDir}/cloud-${tag}`;
  for (const d of [dir, imageRoot, pool]) mkdirSync(d, { recursive: true, mode: 0o777 });
  const images = await imageServer(dir);
  const driver = kvmDriver({ domainType: 'test', secondaryStorageRoot: imageRoot, ...driverOptions });
  return {
    driver,
    hosts,
    sharedStorageUrl: `sharedmountpoint://${pool}`,
    imageStore: { driver: localImageStoreDriver({ root: imageRoot }), url: `nfs://127.0.0.1${imageRoot}` },
    template: { url: `${images.base}/conformance.qcow2`, format: 'QCOW2' },
    iso: { url: `${images.base}/conformance.iso` },
    trafficLabel: 'eth1',
    async teardown() {
      await driver.close();
      await new Promise<void>((resolve) => images.server.close(() => resolve()));
    },
  };
}

for (const transport of ['session', 'exec'] as const) {
  describe.skipIf(facts === null)(
    `kvm over ssh (${transport}) ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
    () => {
      cloudConformanceSuite(`kvm: virsh ${transport} over a real sshd → libvirtd test driver`, async () => {
        const f = facts!;
        const target = sshTarget(f);
        const host = { url: target.url, credentials: target.credentials };
        return fixture(
          f,
          transport,
          { transport, hostKey: { knownHostsFile: f.knownHostsFile }, libvirtUri: f.libvirtUri, vncPort: 5911 },
          // The test environment has one machine: both hosts are the one sshd and libvirtd (see the report of the
          // 'add two hosts' step: the KVM driver derives the host's identity from libvirt, so they are one host).
          [host, host],
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
      return fixture(f, 'native', { mode: 'native', vncPort: 5912 }, [
        { url: f.libvirtUri },
        { url: 'test:///default' },
      ]);
    });
  },
);
