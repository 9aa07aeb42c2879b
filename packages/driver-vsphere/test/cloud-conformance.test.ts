import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { describe } from 'vitest';
import type { CloudConformanceFixture } from '../../testkit/src/cloud-conformance.js';
import { cloudConformanceSuite } from '../../testkit/src/cloud-conformance-suite.js';
import { startVcsim, vcsimBinary, vcsimSkipReason } from '../../testkit/src/harness/vcsim.js';
import { vsphereDriver } from '../src/index.js';
import { fileServer, mountedImageStore, writeTestImages } from './vsphere-fixtures.js';

const bin = vcsimBinary();

describe.skipIf(bin === null)(`vsphere ${bin === null ? `(skipped: ${vcsimSkipReason()})` : ''}`, () => {
  cloudConformanceSuite('vsphere: SOAP over https (pinned certificate) → govmomi vCenter simulator', async () => {
    const sim = await startVcsim({ tls: true, datastores: 2, hosts: 3, vms: 1, hostIp: '127.0.1.1' });
    const dir = mkdtempSync(`${os.tmpdir()}/stratus-vsphere-cc-`);
    const images = writeTestImages(dir);
    const web = await fileServer({ '/tiny.ova': images.ova, '/tiny.iso': images.iso });
    const mounts: Record<string, string> = {};
    const driver = vsphereDriver({
      tls: { ca: sim.certificatePem! },
      secondaryStorageMounts: mounts,
      callTimeoutMs: 10_000,
      taskTimeoutMs: 60_000,
      shutdownTimeoutMs: 2_000,
    });
    const credentials = { username: sim.username, password: sim.password };
    const vc = `vmware://${sim.address}/DC0/DC0_C0`;
    const fixture: CloudConformanceFixture = {
      driver,
      hosts: [
        { url: `${vc}/DC0_C0_H0`, credentials },
        { url: `${vc}/DC0_C0_H1`, credentials },
      ],
      sharedStorageUrl: 'vmfs:///DC0/LocalDS_0',
      secondSharedStorageUrl: 'vmfs:///DC0/LocalDS_1',
      imageStore: {
        driver: mountedImageStore(`${dir}/secondary`, mounts),
        url: 'nfs://127.0.0.1/export/vsphere-secondary',
      },
      template: { url: `${web.base}/tiny.ova`, format: 'OVA', osType: 'Other Linux (64-bit)' },
      iso: { url: `${web.base}/tiny.iso` },
      trafficLabel: 'vSwitch0',
      cluster: { name: 'DC0_C0', vcenter: { url: `vmware://${sim.address}`, datacenter: 'DC0' } },
      async teardown() {
        await driver.close();
        await new Promise<void>((r) => web.server.close(() => r()));
        await sim.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return fixture;
  });
});
