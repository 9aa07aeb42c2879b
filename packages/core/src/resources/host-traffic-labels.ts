import type { HostReport } from '../driver/host-report.js';
import type { HypervisorDriver } from '../driver/hypervisor-driver.js';
import type { TrafficLabelCheck } from '../driver/network-plumbing.js';
import type { NicTrafficType } from '../driver/vm-spec.js';
import { InvalidParameterError } from '../errors.js';
import type { Cluster } from '../model/records.js';
import type { Db } from '../store/store.js';

/**
 * The traffic labels a host of `cluster` must resolve: every label the zone's physical networks give the cluster's
 * hypervisor type (KVM bridge, XenServer network name-label, vSphere vSwitch), once per (traffic type, label).
 */
export async function trafficLabelsFor(db: Db, cluster: Cluster): Promise<TrafficLabelCheck[]> {
  const rows = await db
    .selectFrom('physicalNetworkTrafficTypes')
    .select(['trafficType', 'labels'])
    .where('zoneId', '=', cluster.zoneId)
    .orderBy('id')
    .execute();
  const seen = new Set<string>();
  const checks: TrafficLabelCheck[] = [];
  for (const row of rows) {
    const labels = JSON.parse(row.labels) as Record<string, string | undefined>;
    const label = labels[cluster.hypervisorType];
    if (label === undefined || label === '') continue;
    const key = `${row.trafficType}\u0000${label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    checks.push({ trafficType: row.trafficType as NicTrafficType, label });
  }
  return checks;
}

/**
 * CloudStack's `CheckNetworkCommand` at host add (drivers.md §11 pitfall 10): asks the driver whether each traffic
 * label of the zone resolves on each connected host, and refuses the host with `InvalidParameterError` on `url`
 * naming the labels that do not, so a missing bridge is found when the host is added, not as an empty or wrong
 * bridge when a VM starts. A zone without labels for the hypervisor asks nothing.
 */
export async function checkHostTrafficLabels(
  db: Db,
  driver: HypervisorDriver,
  cluster: Cluster,
  url: string,
  reports: readonly HostReport[],
): Promise<void> {
  const labels = await trafficLabelsFor(db, cluster);
  if (labels.length === 0) return;
  for (const report of reports) {
    const ref = { guid: report.guid, name: report.name, ip: report.ip, url: report.url ?? url };
    const result = await driver.checkNetwork(ref, labels);
    if (!result.ok) {
      const missing = (result.unresolved.length > 0 ? result.unresolved : labels)
        .map((l) => `${l.label} (${l.trafficType})`)
        .join(', ');
      throw new InvalidParameterError(
        'url',
        url,
        `host ${report.name}: traffic label(s) ${missing} do not resolve on the host; create the bridge/network or fix the physical network's ${cluster.hypervisorType} label`,
      );
    }
  }
}
