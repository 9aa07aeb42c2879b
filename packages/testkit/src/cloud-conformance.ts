import { verticalAllocator } from '@stratus/allocator';
import {
  type Allocator,
  type Cloud,
  createCloud,
  type DriverCredentials,
  DriverError,
  type Host,
  type HostRef,
  type HypervisorDriver,
  type HypervisorOperation,
  type HypervisorType,
  type ImageFormat,
  type ImageStoreDriver,
  type OptionalHypervisorOperation,
  type Store,
  StratusError,
  sqliteStore,
  type VirtualMachine,
  type VmRuntimeState,
} from '@stratus/core';

/** How the suite reaches one hypervisor host (what an admin gives `hosts.add`). */
export interface ConformanceHost {
  /** The URL `hosts.add` connects, e.g. `ssh://user@10.0.0.11` or `sim://h1`. */
  url: string;
  credentials?: DriverCredentials;
}

/** An image the suite registers and downloads into the fixture's image store. */
export interface ConformanceImage {
  /** Where the image store driver fetches it from (http(s) for a real store). */
  url: string;
  checksum?: string;
}

/**
 * What a driver package gives the cloud-level conformance suite: the driver, two hosts of one cluster, a shared
 * primary storage URL, an image store (its driver and URL) and the template and ISO to register there. The suite
 * builds the cloud itself through `createCloud` and the public services.
 */
export interface CloudConformanceFixture {
  /** The driver under test (one instance; the suite wraps it to record which operations core calls). */
  driver: HypervisorDriver;
  /** The cluster's hypervisor type; default `driver.type`. */
  hypervisorType?: HypervisorType;
  /** Two hosts of one cluster; live migration goes from the first to the second. */
  hosts: readonly [ConformanceHost, ConformanceHost];
  /** The shared (cluster-wide) primary storage URL, e.g. `nfs://10.0.0.5/export/primary` or `sharedmountpoint:///p`. */
  sharedStorageUrl: string;
  /**
   * A second shared primary storage URL in the same cluster, for volume migration and pool removal; required when
   * the driver declares `volumeMigration`.
   */
  secondSharedStorageUrl?: string;
  /**
   * Whether the hosts report local storage (CloudStack's local primary storage); the zone is then created with
   * local storage enabled and the suite expects one host-scoped pool per host.
   */
  localStorage?: boolean;
  /** The image store (secondary storage): the driver `createCloud` gets and the URL `imageStores.add` gets. */
  imageStore: { driver: ImageStoreDriver; url: string };
  /** The template to register and deploy from. */
  template: ConformanceImage & { format: Exclude<ImageFormat, 'ISO'>; osType?: string };
  /** A bootable ISO to register and deploy from. */
  iso: ConformanceImage;
  /** The traffic label (bridge, network name) of guest, public and management traffic on both hosts. */
  trafficLabel: string;
  /** The allocator; default `verticalAllocator()`. */
  allocator?: Allocator;
  /** The store; default an in-memory SQLite store. */
  store?: () => Store;
  /**
   * The pod's reserved system range; host management addresses must lie outside it. Default
   * 172.31.255.1/24, 172.31.255.200–250.
   */
  pod?: { gateway: string; netmask: string; startIp: string; endIp: string };
  /**
   * Steps known to fail in the fixture's environment (not the driver's fault), by step name, with why: e.g. libvirt's
   * test driver keeps volumes in memory, so there are no bytes to make a template from. Such a step still runs and
   * must fail (a pass is a failure, so an entry cannot outlive its cause); it is reported `expected-failure`, and
   * the steps after it run. A step no later one depends on belongs here, nothing else.
   */
  expectedFailures?: Readonly<Record<string, string>>;
  /**
   * The cluster as `clusters.create` gets it: its name (default `c1`; for VMware the vCenter cluster's name) and, for
   * a VMware cluster, the vCenter that manages it.
   */
  cluster?: { name?: string; vcenter?: { url: string; datacenter: string } };
  /** Called after the suite (close the driver, remove temporary files). */
  teardown?: () => Promise<void>;
}

/** The outcome of one step. */
export interface ConformanceStepResult {
  step: string;
  status: 'passed' | 'failed' | 'not-capable' | 'not-run' | 'expected-failure';
  /** Why it failed (for `expected-failure`: the fixture's reason, then the failure), or which capability it lacks. */
  detail?: string;
  error?: unknown;
}

/** The outcome of a run: each step in order; `failed` names the first failed step. */
export interface CloudConformanceReport {
  steps: ConformanceStepResult[];
  failed?: ConformanceStepResult;
  /** Every driver operation core called during the run, with its count. */
  calls: Record<string, number>;
}

/** A failed conformance check: what was expected and what was seen. */
export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}

class NotCapable extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

/**
 * The driver operations core calls (`grep` of packages/core/src), each with the capability that gates it, if any.
 * The suite's last step checks that the run called every one the driver is capable of.
 */
export const CORE_DRIVER_OPERATIONS: ReadonlyArray<{
  operation: HypervisorOperation;
  capability?: 'liveMigration' | 'volumeResize' | 'volumeSnapshots' | 'volumeMigration' | 'hotPlugDisk';
}> = [
  { operation: 'connect' },
  { operation: 'disconnect' },
  { operation: 'ping' },
  { operation: 'checkNetwork' },
  { operation: 'startVm' },
  { operation: 'stopVm' },
  { operation: 'rebootVm' },
  { operation: 'destroyVm' },
  { operation: 'prepareMigration', capability: 'liveMigration' },
  { operation: 'migrateVm', capability: 'liveMigration' },
  { operation: 'createStoragePool' },
  { operation: 'copyTemplateToPrimary' },
  { operation: 'createVolume' },
  { operation: 'createTemplateFromVolume' },
  { operation: 'deleteVolume' },
  { operation: 'resizeVolume', capability: 'volumeResize' },
  { operation: 'attachVolume' },
  { operation: 'detachVolume' },
  // Into a running VM's CD-ROM; a stopped VM gets its ISO in the start spec.
  { operation: 'attachIso', capability: 'hotPlugDisk' },
  { operation: 'detachIso', capability: 'hotPlugDisk' },
  { operation: 'createSnapshot', capability: 'volumeSnapshots' },
  { operation: 'backupSnapshot', capability: 'volumeSnapshots' },
  { operation: 'deleteSnapshot', capability: 'volumeSnapshots' },
  { operation: 'createVolumeFromSnapshot', capability: 'volumeSnapshots' },
  { operation: 'createTemplateFromSnapshot', capability: 'volumeSnapshots' },
  { operation: 'migrateVolume', capability: 'volumeMigration' },
  { operation: 'deleteStoragePool', capability: 'volumeMigration' },
  { operation: 'prepareMaintenance' },
  { operation: 'cancelMaintenance' },
];

/** Operations core calls that this suite does not reach, and why (reported, never silently dropped). */
export const OPERATIONS_OUTSIDE_THE_SUITE: Readonly<Partial<Record<HypervisorOperation, string>>> = {
  getVmState:
    'core calls it from cloud.recover() for VMs a crash left mid-operation; the suite calls it itself after every step and compares it with core',
} satisfies Partial<Record<HypervisorOperation | OptionalHypervisorOperation, string>>;

/** Wraps a driver so every operation call is counted (the wrapped driver behaves exactly as before). */
function recording(driver: HypervisorDriver, calls: Map<string, number>): HypervisorDriver {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'capabilities' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const GiB = 1024 ** 3;

/** What the steps share: the fixture, the cloud and what earlier steps made. */
export interface CloudConformanceState {
  fixture: CloudConformanceFixture;
  /** The recorded driver core uses; the suite's own listing calls go to the unwrapped one. */
  driver: HypervisorDriver;
  calls: Map<string, number>;
  cloud: Cloud;
  zoneId: number;
  clusterId: number;
  hosts: Host[];
  sharedPoolId: number;
  templateId: number;
  isoId: number;
  serviceOfferingId: number;
  diskOfferingId: number;
  vm?: VirtualMachine;
  isoVm?: VirtualMachine;
  volumeId?: number;
}

const hostRefOf = (h: Host): HostRef => ({
  guid: h.guid,
  name: h.name,
  ...(h.privateIp ? { ip: h.privateIp } : {}),
  url: h.url,
});

/** The power core expects a host to report for a VM core records. */
function expectedRuntime(vm: VirtualMachine, host: Host): VmRuntimeState[] {
  if (vm.hostId === host.id) {
    if (vm.state === 'Running') return ['running'];
    throw new ConformanceFailure(`VM ${vm.instanceName} is ${vm.state} with host ${host.name}`);
  }
  // Stopped, Destroyed (definition may stay until expunge) on its last host; nothing anywhere else.
  if (vm.lastHostId === host.id && vm.state !== 'Expunging' && vm.removed === null) return ['stopped', 'missing'];
  return ['missing'];
}

/**
 * Compares what the hypervisor reports with what core records, after every step:
 * 1. a reconciliation pass (`cloud.reconciler.reconcile()`, the host pings core runs) changes nothing: every host
 *    stays Up and no VM changes state or power (a driver whose power report lies moves core's VM and fails here);
 * 2. `getVmState` on each host agrees with each VM's state and host in core;
 * 3. each host's `ping` is reachable and its power report agrees with core (PowerOn exactly where core has the VM
 *    Running).
 * Volumes: the contract has no volume listing, so the volumes are checked on core's side (state, pool, VM).
 */
async function compare(s: CloudConformanceState, vms: readonly VirtualMachine[]): Promise<void> {
  const { cloud, fixture } = s;
  const before = await Promise.all(vms.map((vm) => cloud.vms.get(vm.id)));
  const report = await cloud.reconciler.reconcile({ zoneId: s.zoneId });
  check(
    report.hosts.length === 0,
    `a ping pass changed host status: ${report.hosts.map((h) => `host ${h.hostId} ${h.from}→${h.to}`).join(', ')}`,
  );
  const changed = report.vms.filter((v) => vms.some((x) => x.id === v.vmId));
  check(
    changed.every((v) => v.from === v.to && before.find((b) => b.id === v.vmId)?.powerState === v.powerState),
    `the hypervisor's power report moved VMs core placed: ${changed.map((v) => `vm ${v.vmId} ${v.from}→${v.to} (${v.powerState})`).join(', ')}`,
  );
  const hosts = await cloud.hosts.list({ clusterId: s.clusterId });
  for (const host of hosts) check(host.status === 'Up', `host ${host.name} is ${host.status} after a ping pass`);
  const current = await Promise.all(vms.map((vm) => cloud.vms.get(vm.id)));
  for (const host of hosts) {
    const ref = hostRefOf(host);
    for (const vm of current) {
      const allowed = expectedRuntime(vm, host);
      const seen = await fixture.driver.getVmState(ref, vm.instanceName);
      check(
        allowed.includes(seen),
        `core records VM ${vm.instanceName} ${vm.state} on host ${vm.hostId ?? 'none'}; host ${host.name} reports it ${seen} (expected ${allowed.join(' or ')})`,
      );
    }
    const expected = current.filter((vm) => vm.hostId === host.id).map((vm) => vm.instanceName);
    let ping: Awaited<ReturnType<HypervisorDriver['ping']>>;
    try {
      ping = await fixture.driver.ping(ref, { expectedVms: expected });
    } catch (error) {
      throw new ConformanceFailure(`ping of host ${host.name} threw instead of answering: ${String(error)}`);
    }
    check(ping.reachable, `host ${host.name} is Up in core but its ping is not reachable`);
    for (const vm of current) {
      const power = ping.vmStates[vm.instanceName]?.powerState;
      if (vm.hostId === host.id)
        check(
          power === 'PowerOn',
          `ping of ${host.name} reports VM ${vm.instanceName} ${power ?? 'absent'}; core: Running there`,
        );
      else
        check(
          power !== 'PowerOn',
          `ping of ${host.name} reports VM ${vm.instanceName} PowerOn; core: ${vm.state} on host ${vm.hostId ?? 'none'}`,
        );
    }
  }
  for (const vm of current) {
    if (vm.state !== 'Running') continue;
    const host = hosts.find((h) => h.id === vm.hostId);
    for (const volume of await cloud.volumes.ofVm(vm.id)) {
      check(volume.state === 'Ready', `volume ${volume.name} of running VM ${vm.instanceName} is ${volume.state}`);
      const pool = await cloud.storagePools.get(Number(volume.poolId));
      check(
        pool.scope === 'HOST' ? pool.hostId === host?.id : pool.clusterId === host?.clusterId || pool.scope === 'ZONE',
        `volume ${volume.name} is on pool ${pool.name} (${pool.scope}), which host ${host?.name} does not reach`,
      );
    }
  }
}

async function done<T>(job: { result: Promise<T> }): Promise<T> {
  return job.result;
}

/** One step of the suite: its name and what it does. */
export interface ConformanceStep {
  name: string;
  run(s: CloudConformanceState): Promise<void>;
}

/** The cluster's hypervisor type: the fixture's, else the driver's (which core's registry keys it by). */
function hypervisorTypeOf(fixture: CloudConformanceFixture): HypervisorType {
  return fixture.hypervisorType ?? (fixture.driver.type as HypervisorType);
}

function caps(s: CloudConformanceState) {
  return s.fixture.driver.capabilities();
}

function vmOf(s: CloudConformanceState): VirtualMachine {
  check(s.vm !== undefined, 'no VM was deployed');
  return s.vm;
}

async function refreshVm(s: CloudConformanceState): Promise<VirtualMachine> {
  s.vm = await s.cloud.vms.get(vmOf(s).id);
  return s.vm;
}

/** The steps, in order; each builds on the ones before. */
export const CLOUD_CONFORMANCE_STEPS: readonly ConformanceStep[] = [
  {
    name: 'zone, physical network, pod and cluster',
    async run(s) {
      const { cloud, fixture } = s;
      const zone = await cloud.zones.create({
        name: 'conformance',
        networkType: 'Advanced',
        dns1: '8.8.8.8',
        internalDns1: '10.0.0.2',
        guestCidr: '10.1.1.0/24',
        localStorageEnabled: fixture.localStorage === true,
      });
      s.zoneId = zone.id;
      const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '600-619' });
      for (const trafficType of ['Guest', 'Public', 'Management'] as const)
        await cloud.physicalNetworks.addTrafficType(pn.id, {
          trafficType,
          labels: { [hypervisorTypeOf(fixture)]: fixture.trafficLabel },
        });
      await cloud.physicalNetworks.enable(pn.id);
      await cloud.publicIpRanges.create({
        zoneId: zone.id,
        gateway: '203.0.113.1',
        netmask: '255.255.255.0',
        startIp: '203.0.113.10',
        endIp: '203.0.113.40',
      });
      const podRange = fixture.pod ?? {
        gateway: '172.31.255.1',
        netmask: '255.255.255.0',
        startIp: '172.31.255.200',
        endIp: '172.31.255.250',
      };
      const pod = await cloud.pods.create({ zoneId: zone.id, name: 'p1', ...podRange });
      const cluster = await cloud.clusters.create({
        podId: pod.id,
        name: fixture.cluster?.name ?? 'c1',
        hypervisorType: hypervisorTypeOf(fixture),
        ...(fixture.cluster?.vcenter ? { vcenter: fixture.cluster.vcenter } : {}),
      });
      s.clusterId = cluster.id;
    },
  },
  {
    name: 'add two hosts to the cluster',
    async run(s) {
      for (const h of s.fixture.hosts) {
        // a driver that connects a pool or a cluster (XenServer, vSphere) adds every member with the first URL
        if (s.hosts.length >= s.fixture.hosts.length && s.fixture.driver.capabilities().connectionUnit !== 'host')
          break;
        s.hosts.push(
          ...(await s.cloud.hosts.add({
            clusterId: s.clusterId,
            url: h.url,
            ...(h.credentials ? { credentials: h.credentials } : {}),
          })),
        );
      }
      check(s.hosts.length === 2, `two host URLs added ${s.hosts.length} hosts`);
      check(s.hosts[0]!.guid !== s.hosts[1]!.guid, 'both host URLs reached the same host');
      for (const h of s.hosts) {
        check(h.status === 'Up' && h.resourceState === 'Enabled', `host ${h.name} is ${h.status}/${h.resourceState}`);
        check(h.cpus > 0 && h.speed > 0 && h.totalMemory > 0, `host ${h.name} reported no CPU or memory`);
      }
      await compare(s, []);
    },
  },
  {
    name: 'add shared (and local) primary storage',
    async run(s) {
      const pool = await s.cloud.storagePools.create({
        clusterId: s.clusterId,
        name: 'shared',
        url: s.fixture.sharedStorageUrl,
      });
      check(pool.status === 'Up', `shared pool is ${pool.status}`);
      check(pool.capacityBytes > 0, 'the shared pool reports no capacity');
      s.sharedPoolId = pool.id;
      const local = (await s.cloud.storagePools.list({ zoneId: s.zoneId })).filter((p) => p.scope === 'HOST');
      if (s.fixture.localStorage) {
        for (const h of s.hosts)
          check(
            local.some((p) => p.hostId === h.id && p.status === 'Up'),
            `host ${h.name} reported no local storage pool`,
          );
      } else check(local.length === 0, 'local pools appeared although the fixture has none');
    },
  },
  {
    name: 'add the image store, register and download a template and an ISO',
    async run(s) {
      const { cloud, fixture } = s;
      await cloud.imageStores.add({ zoneId: s.zoneId, url: fixture.imageStore.url });
      const hypervisorType = hypervisorTypeOf(fixture);
      const template = await cloud.templates.register({
        name: 'conformance-template',
        url: fixture.template.url,
        format: fixture.template.format,
        hypervisorType,
        osType: fixture.template.osType ?? 'Other Linux (64-bit)',
        zoneId: s.zoneId,
        isPublic: true,
        ...(fixture.template.checksum ? { checksum: fixture.template.checksum } : {}),
      });
      const iso = await cloud.templates.register({
        name: 'conformance-iso',
        url: fixture.iso.url,
        format: 'ISO',
        zoneId: s.zoneId,
        bootable: true,
        isPublic: true,
        ...(fixture.iso.checksum ? { checksum: fixture.iso.checksum } : {}),
      });
      // Enabling a zone needs a system-VM template of each hypervisor there (zone readiness); the fixture's
      // template serves, as its image store holds it.
      const system = await cloud.templates.register({
        name: 'conformance-systemvm',
        url: fixture.template.url,
        format: fixture.template.format,
        hypervisorType,
        zoneId: s.zoneId,
        templateType: 'SYSTEM',
        ...(fixture.template.checksum ? { checksum: fixture.template.checksum } : {}),
      });
      for (const t of [system, template, iso]) {
        const refs = await done(await cloud.templateStorage.download(t.id, { zoneId: s.zoneId }));
        check(
          refs.length > 0 && refs.every((r) => r.downloadState === 'DOWNLOADED'),
          `${t.name} did not download: ${refs.map((r) => `${r.downloadState} ${r.errorString ?? ''}`).join('; ')}`,
        );
        check(await cloud.templateStorage.isReadyInZone(t.id, s.zoneId), `${t.name} is not ready in the zone`);
      }
      s.templateId = template.id;
      s.isoId = iso.id;
    },
  },
  {
    name: 'enable the zone',
    async run(s) {
      const zone = await s.cloud.zones.update(s.zoneId, { allocationState: 'Enabled' });
      check(zone.allocationState === 'Enabled', `zone is ${zone.allocationState}`);
      s.serviceOfferingId = (
        await s.cloud.offerings.createServiceOffering({
          name: 'conformance',
          cpuNumber: 1,
          cpuSpeed: 500,
          memory: 256,
        })
      ).id;
      s.diskOfferingId = (await s.cloud.offerings.createDiskOffering({ name: 'conformance-1g', diskSizeGb: 1 })).id;
    },
  },
  {
    name: 'deploy a VM with a data disk on an isolated network',
    async run(s) {
      const vm = await s.cloud.vms.deployAndWait({
        zoneId: s.zoneId,
        serviceOfferingId: s.serviceOfferingId,
        templateId: s.templateId,
        diskOfferingId: s.diskOfferingId,
        hostId: s.hosts[0]!.id,
      });
      s.vm = vm;
      check(vm.state === 'Running', `deployed VM is ${vm.state}`);
      check(vm.hostId === s.hosts[0]!.id, `deployed VM is on host ${vm.hostId}, not the first host`);
      const volumes = await s.cloud.volumes.ofVm(vm.id);
      check(
        volumes.some((v) => v.volumeType === 'ROOT') && volumes.some((v) => v.volumeType === 'DATADISK'),
        `the VM has volumes ${volumes.map((v) => v.volumeType).join(', ')}; expected ROOT and DATADISK`,
      );
      const nics = await s.cloud.network.networks.listNics({ vmId: vm.id });
      check(nics.length === 1, `the VM has ${nics.length} NICs`);
      const network = await s.cloud.network.networks.get(nics[0]!.networkId);
      check(network.guestType === 'Isolated', `the VM's network is ${network.guestType}, not Isolated`);
      await compare(s, [vm]);
    },
  },
  {
    name: 'stop',
    async run(s) {
      const vm = await done(await s.cloud.vms.stop(vmOf(s).id));
      check(vm.state === 'Stopped', `stopped VM is ${vm.state}`);
      s.vm = vm;
      await compare(s, [vm]);
    },
  },
  {
    name: "template from the stopped VM's root volume",
    async run(s) {
      const { cloud } = s;
      const root = (await cloud.volumes.ofVm(vmOf(s).id)).find((v) => v.volumeType === 'ROOT')!;
      const { templateId } = await done(await cloud.volumes.createTemplate(root.id, { name: 'conformance-from-root' }));
      check(
        await cloud.templateStorage.isReadyInZone(templateId, s.zoneId),
        'the template made from the root volume is not ready in the image store',
      );
      const refs = await cloud.templateStorage.storeRefs(templateId, { zoneId: s.zoneId });
      check(
        refs.some((r) => r.installPath !== null && r.installPath !== ''),
        'the driver gave no path for the template it wrote',
      );
    },
  },
  {
    name: 'start',
    async run(s) {
      const vm = await done(await s.cloud.vms.start(vmOf(s).id, { hostId: s.hosts[0]!.id }));
      check(vm.state === 'Running', `started VM is ${vm.state}`);
      s.vm = vm;
      await compare(s, [vm]);
    },
  },
  {
    name: 'reboot',
    async run(s) {
      const vm = await done(await s.cloud.vms.reboot(vmOf(s).id));
      check(vm.state === 'Running' && vm.hostId === s.hosts[0]!.id, `rebooted VM is ${vm.state} on ${vm.hostId}`);
      s.vm = vm;
      await compare(s, [vm]);
    },
  },
  {
    name: 'live-migrate to the other host',
    async run(s) {
      const from = vmOf(s).hostId;
      const to = s.hosts.find((h) => h.id !== from)!;
      if (!caps(s).liveMigration) {
        const refused = await s.cloud.vms
          .migrate(vmOf(s).id, to.id)
          .then(
            (job) => job.result.then(() => undefined),
            (e: unknown) => e,
          )
          .catch((e: unknown) => e);
        check(
          refused instanceof StratusError && refused.code === 'UNSUPPORTED',
          `a live migration on a driver without liveMigration: expected UnsupportedError, got ${String(refused)}`,
        );
        const vm = await refreshVm(s);
        check(
          vm.state === 'Running' && vm.hostId === from,
          `after the refused migration the VM is ${vm.state} on ${vm.hostId}`,
        );
        await compare(s, [vm]);
        throw new NotCapable('liveMigration is false (core refused the migration with UnsupportedError)');
      }
      const vm = await done(await s.cloud.vms.migrate(vmOf(s).id, to.id));
      check(vm.state === 'Running' && vm.hostId === to.id, `migrated VM is ${vm.state} on host ${vm.hostId}`);
      s.vm = vm;
      await compare(s, [vm]);
    },
  },
  {
    name: 'attach and detach an ISO',
    async run(s) {
      const { cloud } = s;
      const live = caps(s).hotPlugDisk;
      let vm = await refreshVm(s);
      if (!live) vm = s.vm = await done(await cloud.vms.stop(vm.id));
      const attached = await done(await cloud.vms.attachIso(vm.id, s.isoId));
      check(attached.isoId === s.isoId, `the VM names ISO ${attached.isoId}, expected ${s.isoId}`);
      await compare(s, [attached]);
      // Started with the ISO in its CD-ROM (a stopped VM gets it in its start spec).
      if (attached.state !== 'Running') s.vm = await done(await cloud.vms.start(vm.id));
      await compare(s, [vmOf(s)]);
      if (!live) s.vm = await done(await cloud.vms.stop(vm.id));
      const detached = await done(await cloud.vms.detachIso(vm.id));
      check(detached.isoId === null, `the VM still names ISO ${detached.isoId}`);
      if (detached.state !== 'Running') s.vm = await done(await cloud.vms.start(vm.id));
      await compare(s, [vmOf(s)]);
    },
  },
  {
    name: 'attach, detach and resize a volume',
    async run(s) {
      const { cloud } = s;
      let vm = await refreshVm(s);
      const volume = await cloud.volumes.create({
        name: 'conformance-data',
        zoneId: s.zoneId,
        diskOfferingId: s.diskOfferingId,
      });
      s.volumeId = volume.id;
      if (!caps(s).hotPlugDisk) vm = s.vm = await done(await cloud.vms.stop(vm.id));
      const attached = await done(await cloud.volumes.attach(volume.id, vm.id));
      check(attached.instanceId === vm.id && attached.state === 'Ready', `attached volume is ${attached.state}`);
      await compare(s, [vm]);
      const detached = await done(await cloud.volumes.detach(volume.id));
      check(detached.instanceId === null, 'detached volume still names its VM');
      await compare(s, [vm]);
      if (caps(s).volumeResize) {
        const resized = await done(await cloud.volumes.resize(volume.id, 2));
        check(resized.size >= 2 * GiB, `resized volume is ${resized.size} B, expected 2 GiB`);
      } else {
        const refused = await cloud.volumes.resize(volume.id, 2).then(
          () => undefined,
          (e: unknown) => e,
        );
        check(
          refused instanceof StratusError && refused.code === 'UNSUPPORTED',
          `resize on a driver without volumeResize: expected UnsupportedError, got ${String(refused)}`,
        );
      }
      if (vm.state !== 'Running') s.vm = await done(await cloud.vms.start(vm.id));
      await compare(s, [vmOf(s)]);
    },
  },
  {
    name: 'volume snapshot where capable (UnsupportedError otherwise)',
    async run(s) {
      const { cloud } = s;
      const root = (await cloud.volumes.ofVm(vmOf(s).id)).find((v) => v.volumeType === 'ROOT')!;
      if (caps(s).volumeSnapshots !== true) {
        const refused = await cloud.snapshots.create(root.id).then(
          () => undefined,
          (e: unknown) => e,
        );
        check(
          refused instanceof StratusError && refused.code === 'UNSUPPORTED',
          `a snapshot on a driver without volumeSnapshots: expected UnsupportedError, got ${String(refused)}`,
        );
        throw new NotCapable('volumeSnapshots is false (core refused the snapshot with UnsupportedError)');
      }
      const snap = await done(await cloud.snapshots.create(root.id));
      check(snap.state === 'BackedUp', `snapshot is ${snap.state}`);
      const restored = await done(await cloud.snapshots.createVolumeFromSnapshot(snap.id, { name: 'from-snapshot' }));
      check(restored.state === 'Ready', `the volume restored from the snapshot is ${restored.state}`);
      const { templateId } = await done(
        await cloud.snapshots.createTemplateFromSnapshot(snap.id, { name: 'conformance-from-snapshot' }),
      );
      check(
        await cloud.templateStorage.isReadyInZone(templateId, s.zoneId),
        'the template made from the snapshot is not ready in the image store',
      );
      await done(await cloud.snapshots.delete(snap.id));
      await compare(s, [vmOf(s)]);
    },
  },
  {
    name: 'migrate a detached volume to another pool, and remove that pool',
    async run(s) {
      const { cloud, fixture } = s;
      const volumeId = s.volumeId;
      check(volumeId !== undefined, 'no detached volume from the attach step');
      if (caps(s).volumeMigration !== true) {
        const refused = await cloud.volumes.migrate(volumeId, s.sharedPoolId).then(
          () => undefined,
          (e: unknown) => e,
        );
        check(
          refused instanceof StratusError && refused.code === 'UNSUPPORTED',
          `a volume migration on a driver without volumeMigration: expected UnsupportedError, got ${String(refused)}`,
        );
        throw new NotCapable('volumeMigration is false (core refused the migration with UnsupportedError)');
      }
      check(
        fixture.secondSharedStorageUrl !== undefined,
        'the driver declares volumeMigration but the fixture has no secondSharedStorageUrl to migrate to',
      );
      const second = await cloud.storagePools.create({
        clusterId: s.clusterId,
        name: 'shared-2',
        url: fixture.secondSharedStorageUrl,
      });
      const moved = await done(await cloud.volumes.migrate(volumeId, second.id));
      check(
        moved.poolId === second.id && moved.state === 'Ready',
        `migrated volume is ${moved.state} on ${moved.poolId}`,
      );
      await cloud.volumes.delete(volumeId);
      await cloud.volumes.expunge(volumeId);
      await cloud.storagePools.enableMaintenance(second.id);
      await cloud.storagePools.delete(second.id);
      check(
        !(await cloud.storagePools.list({ zoneId: s.zoneId })).some((p) => p.id === second.id),
        'the removed pool is still listed',
      );
    },
  },
  {
    name: 'deploy from the ISO',
    async run(s) {
      const vm = await s.cloud.vms.deployAndWait({
        zoneId: s.zoneId,
        serviceOfferingId: s.serviceOfferingId,
        templateId: s.isoId,
        diskOfferingId: s.diskOfferingId,
      });
      s.isoVm = vm;
      check(vm.state === 'Running', `VM from the ISO is ${vm.state}`);
      const root = (await s.cloud.volumes.ofVm(vm.id)).find((v) => v.volumeType === 'ROOT');
      check(root?.state === 'Ready', `the ISO VM's root disk is ${root?.state ?? 'absent'}`);
      await compare(s, [vmOf(s), vm]);
    },
  },
  {
    name: 'destroy and recover',
    async run(s) {
      const destroyed = await done(await s.cloud.vms.destroy(vmOf(s).id));
      check(destroyed.state === 'Destroyed', `destroyed VM is ${destroyed.state}`);
      s.vm = destroyed;
      await compare(s, [destroyed, s.isoVm!]);
      const recovered = await s.cloud.vms.recover(destroyed.id);
      check(recovered.state === 'Stopped', `recovered VM is ${recovered.state}`);
      s.vm = recovered;
      await compare(s, [recovered, s.isoVm!]);
    },
  },
  {
    name: 'expunge',
    async run(s) {
      const { cloud } = s;
      for (const vm of [vmOf(s), s.isoVm!]) {
        const gone = await done(await cloud.vms.destroy(vm.id, { expunge: true }));
        check(gone.state === 'Expunging' || gone.removed !== null, `expunged VM is ${gone.state}`);
        for (const host of s.hosts) {
          const seen = await s.fixture.driver.getVmState(hostRefOf(host), vm.instanceName);
          check(seen === 'missing', `expunged VM ${vm.instanceName} is still ${seen} on ${host.name}`);
        }
        const live = (await cloud.volumes.ofVm(vm.id)).filter((v) => v.volumeType === 'ROOT' && v.removed === null);
        check(live.length === 0, `expunged VM ${vm.instanceName} still has its ROOT volume`);
      }
      await compare(s, []);
    },
  },
  {
    name: 'maintenance of a host with no VMs, and back',
    async run(s) {
      const { cloud } = s;
      const host = s.hosts[1]!;
      const inMaintenance = await cloud.hosts.prepareForMaintenance(host.id);
      check(inMaintenance.resourceState === 'Maintenance', `host in maintenance is ${inMaintenance.resourceState}`);
      const back = await cloud.hosts.cancelMaintenance(host.id);
      check(back.resourceState === 'Enabled', `host after maintenance is ${back.resourceState}`);
      await compare(s, []);
    },
  },
  {
    name: 'disconnect and reconnect a host running a VM',
    async run(s) {
      const { cloud, fixture } = s;
      const vm = await cloud.vms.deployAndWait({
        zoneId: s.zoneId,
        serviceOfferingId: s.serviceOfferingId,
        templateId: s.templateId,
        hostId: s.hosts[0]!.id,
      });
      check(vm.state === 'Running', `VM for the reconnect is ${vm.state}`);
      const credentials = fixture.hosts[0].credentials;
      const host = await cloud.hosts.reconnect(s.hosts[0]!.id, credentials ? { credentials } : {});
      check(host.status === 'Up', `reconnected host is ${host.status}`);
      check((await cloud.vms.get(vm.id)).state === 'Running', 'the VM did not survive its host reconnecting');
      await compare(s, [vm]);
      // A host the driver does not know answers `reachable: false` or a typed DriverError, never a plain Error.
      const stranger: HostRef = {
        guid: 'stratus-conformance-unknown-host',
        name: 'unknown',
        url: fixture.hosts[1].url,
      };
      const answer = await fixture.driver.ping(stranger).then(
        (r) => r,
        (e: unknown) => e,
      );
      check(
        answer instanceof DriverError || (answer as { reachable?: unknown })?.reachable === false,
        `ping of a host the driver does not know: expected reachable:false or a DriverError, got ${answer instanceof Error ? `${answer.constructor.name}: ${answer.message}` : JSON.stringify(answer)}`,
      );
      await done(await cloud.vms.destroy(vm.id, { expunge: true }));
      await compare(s, []);
    },
  },
  {
    name: 'every driver operation core calls was exercised',
    async run(s) {
      const c = caps(s) as unknown as Record<string, unknown>;
      const missing = CORE_DRIVER_OPERATIONS.filter(
        ({ operation, capability }) => (capability === undefined || c[capability] === true) && !s.calls.has(operation),
      ).map((o) => o.operation);
      check(missing.length === 0, `core never called: ${missing.join(', ')}`);
    },
  },
];

/**
 * Runs the cloud-level conformance suite against a fixture, step by step, through `createCloud` and the public
 * services, and returns what happened (it never throws for a failed check: the report says which step failed and
 * why). Steps after a failed one are `not-run`; a step the driver is not capable of is `not-capable`, with the
 * capability named (and, where core must refuse it, the refusal checked).
 */
export async function runCloudConformance(fixture: CloudConformanceFixture): Promise<CloudConformanceReport> {
  let session: CloudConformanceSession;
  try {
    session = await openCloudConformance(fixture);
  } catch (error) {
    // createCloud refused the driver (e.g. a required operation missing): nothing else can run.
    const failed: ConformanceStepResult = {
      step: CREATE_CLOUD_STEP,
      status: 'failed',
      detail: error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error),
      error,
    };
    await fixture.teardown?.();
    return {
      steps: [
        failed,
        ...CLOUD_CONFORMANCE_STEPS.map((st) => ({
          step: st.name,
          status: 'not-run' as const,
          detail: `not run: ${CREATE_CLOUD_STEP} failed`,
        })),
      ],
      failed,
      calls: {},
    };
  }
  try {
    const steps: ConformanceStepResult[] = [];
    for (const step of CLOUD_CONFORMANCE_STEPS) steps.push(await session.run(step));
    const failed = steps.find((r) => r.status === 'failed');
    return { steps, ...(failed ? { failed } : {}), calls: Object.fromEntries(session.calls) };
  } finally {
    await session.close();
  }
}

/** The name the report gives `createCloud` refusing the fixture's driver. */
export const CREATE_CLOUD_STEP = 'createCloud with the driver';

/** A cloud built for one conformance run, whose steps are run one at a time (the vitest wrapper's unit). */
export interface CloudConformanceSession {
  readonly calls: ReadonlyMap<string, number>;
  /** Runs one step (not at all when an earlier one failed). */
  run(step: ConformanceStep): Promise<ConformanceStepResult>;
  close(): Promise<void>;
}

/** Builds the cloud for a run: `createCloud` with the fixture's store, image store and (recorded) driver. */
export async function openCloudConformance(fixture: CloudConformanceFixture): Promise<CloudConformanceSession> {
  const calls = new Map<string, number>();
  const driver = recording(fixture.driver, calls);
  const cloud = await createCloud({
    store: fixture.store?.() ?? sqliteStore(),
    hypervisors: [driver],
    allocator: fixture.allocator ?? verticalAllocator(),
    imageStore: fixture.imageStore.driver,
  });
  const state: CloudConformanceState = {
    fixture,
    driver,
    calls,
    cloud,
    zoneId: 0,
    clusterId: 0,
    hosts: [],
    sharedPoolId: 0,
    templateId: 0,
    isoId: 0,
    serviceOfferingId: 0,
    diskOfferingId: 0,
  };
  let failedStep: string | undefined;
  return {
    calls,
    async run(step) {
      if (failedStep !== undefined)
        return { step: step.name, status: 'not-run', detail: `not run: step "${failedStep}" failed` };
      const expected = fixture.expectedFailures?.[step.name];
      try {
        await step.run(state);
      } catch (error) {
        if (error instanceof NotCapable) return { step: step.name, status: 'not-capable', detail: error.message };
        const detail =
          error instanceof Error ? `${error.constructor.name}: ${error.message}` : `non-error thrown: ${String(error)}`;
        if (expected !== undefined)
          return { step: step.name, status: 'expected-failure', detail: `${expected} (${detail})`, error };
        failedStep = step.name;
        return { step: step.name, status: 'failed', detail, error };
      }
      if (expected === undefined) return { step: step.name, status: 'passed' };
      failedStep = step.name;
      return {
        step: step.name,
        status: 'failed',
        detail: `the fixture expects this step to fail (${expected}), but it passed: remove it from expectedFailures`,
      };
    },
    async close() {
      await cloud.close?.();
      await fixture.teardown?.();
    },
  };
}
