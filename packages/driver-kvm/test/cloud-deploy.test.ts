import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIPv4 } from 'node:net';
import { verticalAllocator } from '@stratus/allocator';
import { type Cloud, createCloud, localImageStoreDriver, sqliteStore, type Template } from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { type KvmDriver, kvmDriver, nativeBindingAvailable } from '../src/index.js';
import { nameUuidFromBytes } from '../src/secondary-pool.js';

const facts = kvmFacts();
const native = await nativeBindingAvailable();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An http server handing out the template and ISO bytes, as a user's download URL would. */
async function imageServer(images: Record<string, Buffer>): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const body = images[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

for (const mode of ['ssh', 'native'] as const) {
  const skip = facts === null ? kvmSkipReason() : mode === 'native' && !native ? '@unraid/libvirt not installed' : '';
  describe.skipIf(skip !== '')(
    `a KVM cloud through createCloud, host in ${mode} mode ${skip ? `(skipped: ${skip})` : ''}`,
    () => {
      const tag = `e2e${mode}${process.pid}`;
      const exportDir = `/export/secondary-${tag}`;
      const templateBytes = randomBytes(512 * 1024 + 77);
      const isoBytes = randomBytes(256 * 1024 + 5);
      let cloud: Cloud;
      let driver: KvmDriver;
      let http: { server: Server; base: string };
      let storesRoot: string;
      let mountParent: string;
      let poolPath: string;
      let zoneId: number;
      let clusterId: number;

      /**
       * What an NFS mount would show: libvirt's test driver accepts the `netfs` pool but mounts nothing, so the mount
       * point the driver names (`<mountParent>/<uuid of server + directory>`) is made a link to the directory of the
       * image store's export that the store driver downloaded into.
       */
      function exportMounted(storeUuid: string, template: Template): void {
        const dir = `template/tmpl/${template.uuid}`;
        const uuid = nameUuidFromBytes(`127.0.0.1${exportDir}/${dir}`);
        symlinkSync(`${storesRoot}/${storeUuid}/${dir}`, `${mountParent}/${uuid}`);
      }

      beforeAll(async () => {
        const f = facts!;
        storesRoot = `${f.dir}/stores-${tag}`;
        mountParent = `${f.dir}/mnt-${tag}`;
        poolPath = `${f.poolDir}/${tag}`;
        for (const d of [storesRoot, mountParent, poolPath]) {
          mkdirSync(d, { recursive: true });
          chmodSync(d, 0o777);
        }
        http = await imageServer({ '/tiny.qcow2': templateBytes, '/installer.iso': isoBytes });
        driver = kvmDriver({
          mode,
          hostKey: { knownHostsFile: f.knownHostsFile },
          libvirtUri: f.libvirtUri,
          domainType: 'test',
          vncPort: mode === 'ssh' ? 5911 : 5912,
          bridgeBackend: 'openvswitch',
          mountParent,
          trafficLabels: { Guest: 'eth1', Public: 'eth1', Management: 'eth1' },
        });
        cloud = await createCloud({
          store: sqliteStore(),
          hypervisors: [driver],
          allocator: verticalAllocator(),
          imageStore: localImageStoreDriver({ root: storesRoot }),
        });
      });
      afterAll(async () => {
        await cloud?.close();
        await driver?.close();
        await new Promise((r) => http?.server.close(r));
      });

      it('sets up a zone with a KVM host, shared-mount-point primary storage and an NFS image store', async () => {
        const f = facts!;
        const zone = await cloud.zones.create({
          name: `zone-${tag}`,
          networkType: 'Advanced',
          dns1: '8.8.8.8',
          internalDns1: '10.0.0.2',
          guestCidr: '10.1.1.0/24',
        });
        zoneId = zone.id;
        const pn = await cloud.physicalNetworks.create({ zoneId, name: 'pn1', vlan: '500-509' });
        for (const trafficType of ['Guest', 'Public', 'Management'] as const)
          await cloud.physicalNetworks.addTrafficType(pn.id, { trafficType, labels: { KVM: 'eth1' } });
        await cloud.physicalNetworks.enable(pn.id);
        await cloud.publicIpRanges.create({
          zoneId,
          gateway: '203.0.113.1',
          netmask: '255.255.255.0',
          startIp: '203.0.113.10',
          endIp: '203.0.113.40',
        });
        const pod = await cloud.pods.create({
          zoneId,
          name: 'p1',
          gateway: '192.168.10.1',
          netmask: '255.255.255.0',
          startIp: '192.168.10.200',
          endIp: '192.168.10.250',
        });
        const cluster = await cloud.clusters.create({ podId: pod.id, name: 'kvm', hypervisorType: 'KVM' });
        clusterId = cluster.id;
        const hosts =
          mode === 'ssh'
            ? await cloud.hosts.add({
                clusterId,
                url: `ssh://${f.sshUser}@127.0.0.1:${f.sshPort}`,
                credentials: { username: f.sshUser, privateKey: readFileSync(f.keyFile, 'utf8') },
              })
            : await cloud.hosts.add({ clusterId, url: f.libvirtUri });
        expect(hosts).toHaveLength(1);
        const host = hosts[0]!;
        expect(host).toMatchObject({ hypervisorType: 'KVM', status: 'Up' });
        // the management address is a real IPv4 address, never "localhost"
        expect(isIPv4(host.privateIp ?? '')).toBe(true);
        if (mode === 'ssh') expect(host.privateIp).toBe('127.0.0.1');
        const pool = await cloud.storagePools.create({
          clusterId,
          name: `ps-${tag}`,
          url: `sharedmountpoint://${poolPath}`,
        });
        expect(pool).toMatchObject({ poolType: 'SharedMountPoint', path: poolPath });
        const store = await cloud.imageStores.add({ zoneId, url: `nfs://127.0.0.1${exportDir}` });
        expect(store.url).toBe(`nfs://127.0.0.1${exportDir}`);
      });

      it('registers and downloads a template, deploys a VM from it: Running, and in virsh list on the host', async () => {
        const store = (await cloud.imageStores.list({ zoneId }))[0]!;
        const system = await cloud.templates.register({
          name: 'systemvm',
          url: `${http.base}/tiny.qcow2`,
          format: 'QCOW2',
          hypervisorType: 'KVM',
          crossZones: true,
          templateType: 'SYSTEM',
        });
        const template = await cloud.templates.register({
          name: `tiny-${tag}`,
          url: `${http.base}/tiny.qcow2`,
          format: 'QCOW2',
          hypervisorType: 'KVM',
          osType: 'Other',
          zoneId,
          isPublic: true,
        });
        for (const t of [system, template]) await (await cloud.templateStorage.download(t.id)).result;
        const [copy] = await cloud.templateStorage.storeRefs(template.id, { zoneId });
        expect(copy).toMatchObject({ state: 'Ready', downloadState: 'DOWNLOADED' });
        exportMounted(store.uuid, template);
        await cloud.zones.update(zoneId, { allocationState: 'Enabled' });
        const offering = await cloud.offerings.createServiceOffering({
          name: `tiny-${tag}`,
          cpuNumber: 1,
          cpuSpeed: 500,
          memory: 64,
        });

        const vm = await cloud.vms.deployAndWait({ zoneId, serviceOfferingId: offering.id, templateId: template.id });
        expect(vm.state).toBe('Running');
        const host = await cloud.hosts.get(vm.hostId!);
        const transport = driver.transportOf({ guid: host.guid });
        // the hypervisor's own listing
        const listed = await transport.virsh(['list', '--name']);
        expect(listed.split('\n').map((s) => s.trim())).toContain(vm.instanceName);
        expect(await driver.getVmState({ guid: host.guid }, vm.instanceName)).toBe('running');
        // the template came over the NFS mount into the primary pool, byte for byte
        const staged = `${poolPath}/tmpl-${template.uuid}.qcow2`;
        expect(sha(readFileSync(staged))).toBe(sha(templateBytes));
        const [poolCopy] = await cloud.templateStorage.poolRefs(template.id);
        expect(poolCopy).toMatchObject({ state: 'Ready', installPath: staged });
        // the ROOT disk the domain boots from is the clone on the shared-mount-point pool
        const [root] = await cloud.volumes.list({ instanceId: vm.id });
        const xml = await transport.domainXml(vm.instanceName);
        expect(xml).toContain(`${poolPath}/${root!.uuid}`);
        // the secondary-storage mount was taken down after the copy
        const mount = nameUuidFromBytes(`127.0.0.1${exportDir}/template/tmpl/${template.uuid}`);
        expect(await transport.virsh(['pool-list', '--all', '--name'])).not.toContain(mount);

        await (await cloud.vms.destroy(vm.id, { expunge: true })).result;
        expect((await transport.virsh(['list', '--all', '--name'])).split('\n')).not.toContain(vm.instanceName);
      });

      it('deploys from an ISO: the VM boots from the CD-ROM read from the NFS mount', async () => {
        const store = (await cloud.imageStores.list({ zoneId }))[0]!;
        const iso = await cloud.templates.register({
          name: `installer-${tag}`,
          url: `${http.base}/installer.iso`,
          format: 'ISO',
          osType: 'Other',
          zoneId,
          bootable: true,
        });
        await (await cloud.templateStorage.download(iso.id)).result;
        exportMounted(store.uuid, iso);
        const offering = await cloud.offerings.createServiceOffering({
          name: `iso-${tag}`,
          cpuNumber: 1,
          cpuSpeed: 500,
          memory: 64,
        });
        const disk = await cloud.offerings.createDiskOffering({ name: `blank-${tag}`, diskSizeGb: 1 });
        const vm = await cloud.vms.deployAndWait({
          zoneId,
          serviceOfferingId: offering.id,
          templateId: iso.id,
          diskOfferingId: disk.id,
        });
        expect(vm.state).toBe('Running');
        const host = await cloud.hosts.get(vm.hostId!);
        const transport = driver.transportOf({ guid: host.guid });
        const xml = await transport.domainXml(vm.instanceName);
        const mount = nameUuidFromBytes(`127.0.0.1${exportDir}/template/tmpl/${iso.uuid}`);
        expect(xml).toMatch(/<boot dev=['"]cdrom['"]\/>\s*<boot dev=['"]hd['"]\/>/);
        expect(xml).toContain(`${mountParent}/${mount}/${iso.uuid}.iso`);
        expect(xml).toMatch(/device=['"]cdrom['"]/);
        await (await cloud.vms.destroy(vm.id, { expunge: true })).result;
      });
    },
  );
}
