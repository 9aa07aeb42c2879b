import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DriverError, type HostReport, type VmSpec } from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVcsim, type Vcsim, vcsimBinary, vcsimSkipReason } from '../../testkit/src/harness/vcsim.js';
import { type VsphereDriver, vsphereDriver } from '../src/index.js';

const bin = vcsimBinary();
const LIST_VMS = fileURLToPath(new URL('../../testkit/vcsim/list_vms.py', import.meta.url));
const pyvmomi = existsSync('/usr/lib/python3/dist-packages/pyVmomi');

/** A VM name with quotes, markup characters and non-ASCII letters. */
const ODD_NAME = `i-2-7-VM "q" 'a' <b> & c é ü 漢字`;

interface PyVm {
  name: string;
  power: string;
  host: string | null;
  networks: string[];
  macs: string[];
}

function listWithPyvmomi(sim: Vcsim): PyVm[] {
  const out = execFileSync(
    '/usr/bin/python3',
    [LIST_VMS, '127.0.0.1', String(sim.port), sim.username, sim.password, sim.certificateFile!],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as PyVm);
}

describe.skipIf(bin === null)(
  `vSphere driver against vcsim ${bin === null ? `(skipped: ${vcsimSkipReason()})` : ''}`,
  () => {
    let sim: Vcsim;
    let driver: VsphereDriver;
    let hosts: HostReport[];
    const credentials = () => ({ username: sim.username, password: sim.password });

    beforeAll(async () => {
      sim = await startVcsim({ tls: true, hostIp: '127.0.2.1', vms: 0 });
      driver = vsphereDriver({
        tls: { ca: sim.certificatePem! },
        callTimeoutMs: 10_000,
        taskTimeoutMs: 30_000,
        shutdownTimeoutMs: 1_000,
      });
    });
    afterAll(async () => {
      await driver?.close();
      await sim?.stop();
    });

    it('adding the cluster discovers every host with its CPU, memory and address; one session serves them all', async () => {
      hosts = await driver.connect({ url: `vmware://${sim.address}/DC0/DC0_C0`, credentials: credentials() });
      expect(hosts.map((h) => h.name).sort()).toEqual(['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2']);
      expect(new Set(hosts.map((h) => h.guid)).size).toBe(3);
      expect(new Set(hosts.map((h) => h.ip)).size).toBe(3);
      for (const h of hosts) expect(h.ip).toMatch(/^127\.0\.2\.\d+$/);
      for (const h of hosts) {
        expect(h.cpus).toBeGreaterThan(0);
        expect(h.cpuMhz).toBeGreaterThan(0);
        expect(h.memoryBytes).toBeGreaterThan(0);
        expect(h.hypervisorType).toBe('VMware');
        expect(h.poolUuid).toBe(hosts[0]!.poolUuid);
      }
      const again = await driver.connect({
        url: `vmware://${sim.address}/DC0/DC0_C0/DC0_C0_H1`,
        credentials: credentials(),
      });
      expect(again.map((h) => h.guid)).toEqual([hosts.find((h) => h.name === 'DC0_C0_H1')!.guid]);
    });

    it('typed errors: a missing cluster is NotFound, a wrong password AuthFailed, a bad URL InvalidParameter', async () => {
      await expect(
        driver.connect({ url: `vmware://${sim.address}/DC0/NoSuchCluster`, credentials: credentials() }),
      ).rejects.toMatchObject({ driverCode: 'NotFound' });
      await expect(
        driver.connect({
          url: `vmware://${sim.address}/DC0/DC0_C0`,
          credentials: { username: sim.username, password: 'wrong' },
        }),
      ).rejects.toMatchObject({
        driverCode: 'AuthFailed',
        vendorCode: 'InvalidLogin',
      });
      await expect(
        driver.connect({ url: 'vmware://vc/only-a-datacenter', credentials: credentials() }),
      ).rejects.toMatchObject({ code: 'INVALID_PARAMETER', field: 'url' });
    });

    it('checkNetwork resolves standard and distributed switch labels and reports the rest', async () => {
      const ref = { guid: hosts[0]!.guid };
      const result = await driver.checkNetwork(ref, [
        { trafficType: 'Guest', label: 'vSwitch0' },
        { trafficType: 'Public', label: '"vSwitch0","100","vmwaresvs"' },
        { trafficType: 'Guest', label: 'DVS0,,vmwaredvs' },
        { trafficType: 'Management', label: 'vSwitch9' },
        { trafficType: 'Storage', label: 'vSwitch0,,bogus' },
      ]);
      expect(result.ok).toBe(false);
      expect(result.unresolved.map((u) => u.label)).toEqual(['vSwitch9', 'vSwitch0,,bogus']);
    });

    it(`a VM named ${JSON.stringify(ODD_NAME)} with a standard and a distributed guest NIC round-trips; pyVmomi sees what the driver set`, async () => {
      // The independent check may be left out only outside CI (where .ci/run installs python3-pyvmomi).
      if (!pyvmomi) {
        expect(process.env.CI, 'python3-pyvmomi is required when CI=true').not.toBe('true');
        console.warn('python3-pyvmomi not installed: the independent pyVmomi check is left out');
      }
      const h0 = { guid: hosts[0]!.guid };
      await driver.createStoragePool(h0, { uuid: 'pool-a', type: 'VMFS', name: 'a', path: '/DC0/LocalDS_0' });
      const root = await driver.createVolume(h0, {
        uuid: 'vol-odd-root',
        name: `ROOT of ${ODD_NAME}`,
        type: 'ROOT',
        sizeBytes: 1024 ** 3,
        format: 'vmdk',
        pool: { uuid: 'pool-a', type: 'VMFS' },
      });
      const spec: VmSpec = {
        name: ODD_NAME,
        uuid: 'uuid-odd',
        type: 'User',
        cpus: 2,
        cpuMhz: 1000,
        minRamBytes: 512 * 1024 ** 2,
        maxRamBytes: 512 * 1024 ** 2,
        bootOrder: ['hd'],
        osType: 'otherGuest64',
        bootArgs: '',
        vncPassword: 'p<&>"',
        disks: [
          {
            volumeUuid: root.uuid,
            type: 'ROOT',
            deviceId: 0,
            poolRef: { uuid: 'pool-a', type: 'VMFS' },
            path: root.path,
            format: 'vmdk',
            sizeBytes: 1024 ** 3,
            readOnly: false,
          },
        ],
        nics: [
          {
            deviceId: 0,
            mac: '06:00:00:00:07:01',
            isDefault: true,
            trafficType: 'Guest',
            trafficLabel: 'vSwitch0',
            broadcastUri: 'vlan://612',
            networkRateMbps: 200,
          },
          {
            deviceId: 1,
            mac: '06:00:00:00:07:02',
            isDefault: false,
            trafficType: 'Guest',
            trafficLabel: 'DVS0,,vmwaredvs',
            broadcastUri: 'vlan://613',
          },
        ],
        details: {},
      };
      await driver.startVm(h0, spec);
      // Idempotent: starting a running VM with the same spec succeeds.
      await driver.startVm(h0, spec);
      expect(await driver.getVmState(h0, ODD_NAME)).toBe('running');
      expect(await driver.getVmState({ guid: hosts[1]!.guid }, ODD_NAME)).toBe('missing');
      const ping = await driver.ping(h0, { expectedVms: [ODD_NAME, 'i-9-9-VM'] });
      expect(ping.reachable).toBe(true);
      expect(ping.vmStates[ODD_NAME]?.powerState).toBe('PowerOn');
      expect(ping.vmStates['i-9-9-VM']?.powerState).toBe('PowerReportMissing');
      // The same port group exists on every host of the cluster.
      for (const h of hosts) {
        const check = await driver.checkNetwork({ guid: h.guid }, [{ trafficType: 'Guest', label: 'vSwitch0' }]);
        expect(check.ok).toBe(true);
      }
      if (pyvmomi) {
        const vm = listWithPyvmomi(sim).find((v) => v.name === ODD_NAME);
        expect(vm, 'pyVmomi lists the VM under its exact name').toBeDefined();
        expect(vm!.power).toBe('poweredOn');
        expect(vm!.host).toBe('DC0_C0_H0');
        expect(vm!.networks).toEqual(['cloud.guest.612.200.1-vSwitch0', 'cloud.guest.613.0.1-DVS0']);
        expect(vm!.macs).toEqual(['06:00:00:00:07:01', '06:00:00:00:07:02']);
      }
      await expect(driver.rebootVm({ guid: hosts[1]!.guid }, ODD_NAME)).rejects.toBeInstanceOf(DriverError);
      await driver.stopVm(h0, ODD_NAME);
      expect(await driver.getVmState(h0, ODD_NAME)).toBe('stopped');
      if (pyvmomi) expect(listWithPyvmomi(sim).find((v) => v.name === ODD_NAME)?.power).toBe('poweredOff');
      await expect(driver.rebootVm(h0, ODD_NAME)).rejects.toMatchObject({ driverCode: 'InvalidState' });
      await driver.destroyVm(h0, ODD_NAME);
      await driver.destroyVm(h0, ODD_NAME);
      expect(await driver.getVmState(h0, ODD_NAME)).toBe('missing');
      // The root volume outlived its VM; deleting it twice is fine.
      await driver.deleteVolume(h0, { uuid: root.uuid, pool: { uuid: 'pool-a', type: 'VMFS' }, path: root.path });
      await driver.deleteVolume(h0, { uuid: root.uuid, pool: { uuid: 'pool-a', type: 'VMFS' }, path: root.path });
    });

    it('an NFS pool is mounted on a host with CreateNasDatastore (found again by remote host and path, not mounted twice), and vCenter maintenance is opt-in', async () => {
      const nfsDir = mkdtempSync(`${os.tmpdir()}/stratus-vsphere-nfs-`);
      const d = vsphereDriver({
        tls: { ca: sim.certificatePem! },
        callTimeoutMs: 10_000,
        vcenterMaintenanceMode: true,
        // The simulator mounts an existing local directory as the NFS datastore's local path.
        nasLocalPath: () => nfsDir,
      });
      try {
        const all = await d.connect({ url: `vmware://${sim.address}/DC0/DC0_C0`, credentials: credentials() });
        const nfs = {
          uuid: 'pool-nfs',
          type: 'NetworkFilesystem',
          name: 'nfs',
          server: '10.0.0.5',
          path: '/export/primary',
        };
        const first = await d.createStoragePool({ guid: all[0]!.guid }, nfs);
        expect(first.capacityBytes).toBeGreaterThan(0);
        // Again on the same host: found by remote host and path, not mounted twice.
        await d.createStoragePool({ guid: all[0]!.guid }, nfs);
        const vol = await d.createVolume(
          { guid: all[0]!.guid },
          {
            uuid: 'vol-nfs',
            name: 'v',
            type: 'DATADISK',
            sizeBytes: 1024 ** 2,
            format: 'vmdk',
            pool: { uuid: 'pool-nfs', type: 'NetworkFilesystem' },
          },
        );
        expect(vol.path).toBe(`[${path.basename(nfsDir)}] stratus-volumes/vol-nfs.vmdk`);
        await d.deleteVolume(
          { guid: all[0]!.guid },
          { uuid: 'vol-nfs', pool: { uuid: 'pool-nfs', type: 'NetworkFilesystem' }, path: vol.path },
        );
        // HostDatastoreSystem.RemoveDatastore unmounts it from the host; govmomi's simulator 0.24 lacks the method,
        // which the driver reports as a typed Unsupported with the vendor's fault.
        await expect(
          d.deleteStoragePool({ guid: all[0]!.guid }, { uuid: 'pool-nfs', type: 'NetworkFilesystem' }),
        ).rejects.toMatchObject({
          driverCode: 'Unsupported',
          vendorCode: 'MethodNotFound',
        });

        const h = { guid: all[2]!.guid };
        await d.prepareMaintenance(h);
        const inMaintenance = await d.connect({
          url: `vmware://${sim.address}/DC0/DC0_C0/${all[2]!.name}`,
          credentials: credentials(),
        });
        expect(inMaintenance[0]!.details.inMaintenanceMode).toBe('true');
        await d.cancelMaintenance(h);
        const back = await d.connect({
          url: `vmware://${sim.address}/DC0/DC0_C0/${all[2]!.name}`,
          credentials: credentials(),
        });
        expect(back[0]!.details.inMaintenanceMode).toBe('false');
      } finally {
        await d.close();
        rmSync(nfsDir, { recursive: true, force: true });
      }
    });

    it('a standalone ESXi is refused with a clear error: clusters (and CloneVM_Task) need vCenter', async () => {
      const esx = await startVcsim({ esx: true });
      const d = vsphereDriver({ tls: { insecure: true }, callTimeoutMs: 5_000 });
      try {
        const error = await d
          .connect({ url: `http://${esx.address}/ha-datacenter/localhost.localdomain`, credentials: credentials() })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DriverError);
        expect(
          (error as DriverError).driverCode === 'Unsupported' || (error as DriverError).driverCode === 'NotFound',
        ).toBe(true);
      } finally {
        await d.close();
        await esx.stop();
      }
    });
  },
);
