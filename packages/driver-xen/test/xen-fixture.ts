/**
 * The cloud conformance fixture for fake-xapi: a two-host pool, an NFS SR as shared primary
 * storage, an image store whose files the driver reads and writes where this process has it "mounted", a VHD template
 * and an ISO served over http.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ImageStoreDriver, localImageStoreDriver } from '@stratus/core';
import { type FakeXapi, type FakeXapiOptions, startFakeXapi } from '@stratus/testkit/fake-xapi';
import type { CloudConformanceFixture } from '../../testkit/src/cloud-conformance.js';
import { xenDriver } from '../src/index.js';

/** The fixture: a fake pool, an image store mounted here, a template and an ISO over http. */
export async function xenFixture(
  fakeOptions: FakeXapiOptions = {},
): Promise<CloudConformanceFixture & { fake: FakeXapi }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'stratus-xen-'));
  const root = path.join(dir, 'secondary');
  writeFileSync(path.join(dir, 'conformance.vhd'), Buffer.alloc(256 * 1024, 7));
  writeFileSync(path.join(dir, 'conformance.iso'), Buffer.alloc(128 * 1024, 9));
  const server = createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    if (name !== 'conformance.vhd' && name !== 'conformance.iso') return void res.writeHead(404).end();
    const body = readFileSync(path.join(dir, name));
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake = await startFakeXapi({ hosts: 2, taskDelayMs: 2, ...fakeOptions });
  // where this management server has each image store: filled in as core's image store driver first writes to it
  const mounts: Record<string, string> = {};
  const inner = localImageStoreDriver({ root });
  const imageStore: ImageStoreDriver = {
    async download(store, request, options) {
      mounts[store.url] = path.join(root, store.uuid);
      return inner.download(store, request, options);
    },
    delete: (store, p, options) => inner.delete(store, p, options),
    stat: (store, p, options) => inner.stat(store, p, options),
  };
  const driver = xenDriver({ secondaryStorageMounts: mounts, eventTimeoutSeconds: 5, shutdownTimeoutMs: 5000 });
  const credentials = { username: 'root', password: 'xenroot' };
  return {
    fake,
    driver,
    hosts: [
      { url: fake.hostUrls[0]!, credentials },
      { url: fake.hostUrls[1]!, credentials },
    ],
    sharedStorageUrl: 'nfs://10.0.0.5/export/primary',
    secondSharedStorageUrl: 'nfs://10.0.0.5/export/primary2',
    imageStore: { driver: imageStore, url: 'nfs://127.0.0.1/export/xen-conformance' },
    template: { url: `${base}/conformance.vhd`, format: 'VHD', osType: 'Debian Bookworm 12' },
    iso: { url: `${base}/conformance.iso` },
    trafficLabel: 'cloud-guest',
    async teardown() {
      await driver.close();
      await fake.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
