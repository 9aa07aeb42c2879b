import type { CloudContext } from '../context.js';
import { InvalidParameterError } from '../errors.js';
import type { TrafficType } from '../model/enums.js';
import type { Ref } from '../model/ref.js';
import { physicalNetworkRepo, trafficTypeRepo } from '../resources/physical-networks.js';
import { zoneRepo } from '../resources/zones.js';
import type { Db } from '../store/store.js';

/** One reason a zone cannot be enabled yet. */
export interface ZoneReadinessProblem {
  /** What is missing or wrong, e.g. `publicRange`, `vlanRanges`, `trafficLabel`. */
  field: string;
  value: unknown;
  reason: string;
}

/** Whether a zone can be enabled, and if not, what is missing. */
export interface ZoneReadiness {
  zoneId: number;
  ready: boolean;
  problems: ZoneReadinessProblem[];
}

/**
 * Zone topology checks on top of what zone and physical-network creation enforce
 * (spec/networking.md §1, §2; resource-model.md §5; pitfalls 4 and 18), before a zone is enabled:
 * - **Basic**: exactly one physical network, carrying Guest and Management traffic, with no guest
 *   VLAN ranges (guests share the hosts' untagged VLAN) and no zone guest CIDR; every pod has a
 *   guest IP range; public traffic only with NetScaler EIP/ELB (not checked here).
 * - **Advanced**: a zone guest CIDR; Guest, Public and Management traffic each on a physical
 *   network; a guest VLAN range on every physical network carrying Guest traffic; at least one
 *   public IP range.
 * - Both: every traffic type of every physical network has a label for each hypervisor type the
 *   zone's clusters run (a second hypervisor type needs its own labels).
 */
export class ZoneReadinessService {
  constructor(private readonly ctx: CloudContext) {}

  async check(zoneId: Ref, db: Db = this.ctx.db): Promise<ZoneReadiness> {
    zoneId = await zoneRepo.resolve(db, zoneId, 'zoneId');
    const zone = await zoneRepo.get(db, zoneId, 'zoneId');
    const problems: ZoneReadinessProblem[] = [];
    const pns = await physicalNetworkRepo.list(db, { zoneId });
    const traffic = (
      await db
        .selectFrom('physicalNetworkTrafficTypes')
        .selectAll()
        .where('zoneId', '=', zoneId)
        .orderBy('id')
        .execute()
    ).map(trafficTypeRepo.decode);
    const carrying = (t: TrafficType) => traffic.filter((tt) => tt.trafficType === t);
    const required: TrafficType[] =
      zone.networkType === 'Basic' ? ['Guest', 'Management'] : ['Guest', 'Public', 'Management'];
    for (const t of required) {
      if (carrying(t).length === 0)
        problems.push({ field: 'trafficType', value: t, reason: `no physical network carries ${t} traffic` });
    }
    if (zone.networkType === 'Basic') {
      if (pns.length !== 1)
        problems.push({
          field: 'physicalNetworks',
          value: pns.length,
          reason: 'a basic zone has exactly one physical network',
        });
      for (const pn of pns) {
        if (pn.vlanRanges.length > 0)
          problems.push({ field: 'vlanRanges', value: pn.name, reason: 'basic zones have no guest VLAN ranges' });
      }
      if (zone.guestCidr !== null)
        problems.push({ field: 'guestCidr', value: zone.guestCidr, reason: 'basic zones have no zone guest CIDR' });
      const pods = await db
        .selectFrom('pods')
        .select(['id', 'name'])
        .where('zoneId', '=', zoneId)
        .where('removed', 'is', null)
        .execute();
      if (pods.length === 0)
        problems.push({ field: 'pods', value: 0, reason: 'a basic zone needs a pod with a guest IP range' });
      for (const pod of pods) {
        const range = await db
          .selectFrom('ipRanges')
          .select('id')
          .where('space', '=', 'guest')
          .where('podId', '=', Number(pod.id))
          .where('removed', 'is', null)
          .executeTakeFirst();
        if (!range)
          problems.push({ field: 'podId', value: Number(pod.id), reason: `pod ${pod.name} has no guest IP range` });
      }
    } else {
      if (zone.guestCidr === null)
        problems.push({ field: 'guestCidr', value: null, reason: 'an advanced zone needs a guest CIDR' });
      for (const tt of carrying('Guest')) {
        const pn = pns.find((p) => p.id === tt.physicalNetworkId);
        if (pn && pn.vlanRanges.length === 0)
          problems.push({
            field: 'vlanRanges',
            value: pn.name,
            reason: `physical network ${pn.name} carries Guest traffic but has no VLAN range`,
          });
      }
      const publicRange = await db
        .selectFrom('ipRanges')
        .select('id')
        .where('space', '=', 'public')
        .where('zoneId', '=', zoneId)
        .where('vlanType', '=', 'VirtualNetwork')
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!publicRange)
        problems.push({
          field: 'publicRange',
          value: null,
          reason: 'an advanced zone needs at least one public IP range',
        });
    }
    const hypervisors = (
      await db
        .selectFrom('clusters')
        .select('hypervisorType')
        .distinct()
        .where('zoneId', '=', zoneId)
        .where('removed', 'is', null)
        .execute()
    ).map((r) => r.hypervisorType);
    for (const tt of traffic) {
      for (const h of hypervisors) {
        if (!(tt.labels as Record<string, string | undefined>)[h])
          problems.push({
            field: 'trafficLabel',
            value: { trafficType: tt.trafficType, hypervisor: h },
            reason: `${tt.trafficType} traffic has no ${h} label`,
          });
      }
    }
    return { zoneId, ready: problems.length === 0, problems };
  }

  /** Throws an InvalidParameterError naming the first problem when the zone is not ready. */
  async requireReady(zoneId: Ref, db: Db = this.ctx.db): Promise<void> {
    zoneId = await zoneRepo.resolve(db, zoneId, 'zoneId');
    const r = await this.check(zoneId, db);
    const first = r.problems[0];
    if (first) throw new InvalidParameterError(first.field, first.value, first.reason, { problems: r.problems });
  }
}
