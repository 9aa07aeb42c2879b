import {
  CapacityIndex,
  type CapacityReportRow,
  type CapacityType,
  type Cloud,
  capacityReport,
  overprovisionedLimit,
} from '@stratus/core';
import { bar, GiB, ghz, heading, type Print, percent, table } from './format.js';
import type { DemoOutcome } from './scenario.js';

/**
 * Prints every host of the zone with the VMs of each wave it runs, its CPU (used, reserved by
 * stopped VMs, total after the cluster's over-provisioning factor) and memory, and a fill bar:
 * the vertical wave's VMs are packed onto few hosts, the horizontal wave's spread over many.
 */
export async function printHostCapacity(cloud: Cloud, outcome: DemoOutcome, print: Print): Promise<void> {
  const zoneId = outcome.zone.zone.id;
  const state = await CapacityIndex.load(cloud.store.db);
  const clusters = new Map((await cloud.clusters.list({ zoneId })).map((c) => [c.id, c.name]));
  const waveOf = new Map(outcome.waves.flatMap((w) => w.vms.map((vm) => [vm.id, w.strategy] as const)));
  const running = new Map<number, Map<string, number>>();
  for (const vm of await cloud.vms.list({ zoneId, state: 'Running' })) {
    if (vm.hostId === null) continue;
    const perWave = running.get(vm.hostId) ?? new Map<string, number>();
    const wave = waveOf.get(vm.id) ?? 'other';
    perWave.set(wave, (perWave.get(wave) ?? 0) + 1);
    running.set(vm.hostId, perWave);
  }

  heading(print, 'Hosts: which are filled, which are empty');
  const strategies = outcome.waves.map((w) => w.strategy);
  const t = table([
    'cluster',
    'host',
    'tags',
    ...strategies,
    'stopped',
    'CPU GHz used / resv / total',
    'CPU fill',
    'memory GiB',
  ]);
  let empty = 0;
  for (const host of await cloud.hosts.list({ zoneId })) {
    const h = state.hosts.get(host.id);
    const ratios = state.clusters.get(host.clusterId);
    if (!h || !ratios) continue;
    const cpuTotal = overprovisionedLimit(h.cpuTotal, ratios.cpuRatio);
    const memTotal = overprovisionedLimit(h.memoryTotal, ratios.memoryRatio);
    const perWave = running.get(host.id);
    if (!perWave && h.held.size === 0) empty++;
    const factor = ratios.cpuRatio !== 1 ? ` (×${ratios.cpuRatio})` : '';
    t.push([
      clusters.get(host.clusterId) ?? '',
      host.name,
      host.hostTags.join(',') || '-',
      ...strategies.map((s) => String(perWave?.get(s) ?? '')),
      h.held.size > 0 ? String(h.held.size) : '',
      `${ghz(h.cpuUsed)} / ${ghz(h.cpuReserved)} / ${ghz(cpuTotal)}${factor}`,
      `${bar(h.cpuUsed, h.cpuReserved, cpuTotal)} ${percent(h.cpuUsed + h.cpuReserved, cpuTotal).padStart(4)}`,
      `${Math.round((h.memoryUsed + h.memoryReserved) / GiB)} / ${Math.round(memTotal / GiB)}`,
    ]);
  }
  print(t.toString());
  print(
    'Running VMs per wave; CPU fill: # used by running VMs, + reserved for stopped VMs on their last host, . free.',
  );
  for (const wave of outcome.waves) {
    const hosts = new Set(wave.vms.map((vm) => vm.hostId));
    print(
      `${wave.strategy.padEnd(10)} wave: ${wave.vms.length} VMs placed on ${hosts.size} of ${state.hosts.size} hosts`,
    );
  }
  print(`empty hosts now: ${empty} of ${state.hosts.size}`);
  print(
    'vertical packs: hosts already running VMs first. horizontal spreads: the cluster with the most free capacity ' +
      '(here the over-provisioned pod 2) first, and in it the host with the most free capacity.',
  );
}

const SHOWN: ReadonlyArray<[CapacityType, string]> = [
  ['CPU', 'CPU'],
  ['MEMORY', 'memory'],
  ['STORAGE_ALLOCATED', 'primary storage allocated'],
];

/**
 * Prints CloudStack's listCapacity view (`capacityReport` over the placement state, loaded from
 * the store) per cluster, pod and zone: used + reserved against the over-provisioned total.
 */
export async function printCapacityReport(cloud: Cloud, zoneId: number, print: Print): Promise<void> {
  const state = await CapacityIndex.load(cloud.store.db);
  const names = new Map<string, string>([
    ...(await cloud.clusters.list({ zoneId })).map((c) => [`cluster:${c.id}`, c.name] as [string, string]),
    ...(await cloud.pods.list({ zoneId })).map((p) => [`pod:${p.id}`, p.name] as [string, string]),
    [`zone:${zoneId}`, (await cloud.zones.get(zoneId)).name],
  ]);
  heading(print, 'Capacity per cluster, pod and zone (used + reserved / total)');
  const t = table(['level', 'name', ...SHOWN.map(([, label]) => label)]);
  for (const level of ['cluster', 'pod', 'zone'] as const) {
    const rows = capacityReport(state, { level, zoneId });
    for (const id of [...new Set(rows.map((r) => r.id))]) {
      const of = (type: CapacityType) => rows.find((r) => r.id === id && r.type === type);
      t.push([level, names.get(`${level}:${id}`) ?? String(id), ...SHOWN.map(([type]) => cell(of(type)))]);
    }
  }
  print(t.toString());
}

function cell(row: CapacityReportRow | undefined): string {
  if (!row) return '-';
  const held = row.used + row.reserved;
  const unit = row.type === 'CPU' ? (n: number) => `${ghz(n)} GHz` : (n: number) => `${Math.round(n / GiB)} GiB`;
  return `${unit(held)} / ${unit(row.total)} ${`(${row.percent.toFixed(1)}%)`.padStart(8)}`;
}
