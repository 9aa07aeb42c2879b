import type { CloudContext, Writer } from '../context.js';
import { InsufficientCapacityError } from '../errors.js';
import { ipv4ToInt } from '../model/validate.js';
import { SettingsService } from '../settings/settings-service.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { RandomSource } from './random.js';
import type { IpOwnerType } from './records.js';

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** The MAC of a link-local control NIC, derived from its address: `0e:00:a9:fe:xx:yy` (§4.6). */
export function linkLocalMac(ip: string): string {
  const n = ipv4ToInt(ip);
  return ['0e', '00', hex((n >>> 24) & 255), hex((n >>> 16) & 255), hex((n >>> 8) & 255), hex(n & 255)].join(':');
}

/**
 * Guest MAC addresses (§4.1): `mac.address.prefix` (default `06`) followed by 40 random bits,
 * unique per zone through the `mac_addresses (zone_id, mac)` unique index; a collision (another
 * process, or chance) just draws again.
 */
export class MacAddressAllocator {
  private readonly settings: SettingsService;
  private readonly random: RandomSource;

  constructor(ctx: CloudContext, options: { random?: RandomSource } = {}) {
    this.settings = new SettingsService(ctx);
    this.random = options.random ?? Math.random;
  }

  async allocate(w: Writer, req: { zoneId: number; ownerType: IpOwnerType; ownerId?: number | null }): Promise<string> {
    const prefix = String(await this.settings.get('mac.address.prefix', { zoneId: req.zoneId }, w.db)).toLowerCase();
    for (let attempt = 0; attempt < 32; attempt++) {
      const bytes = Array.from({ length: 5 }, () => hex(Math.floor(this.random() * 256)));
      const mac = [prefix, ...bytes].join(':');
      const values = {
        zoneId: req.zoneId,
        mac,
        ownerType: req.ownerType,
        ownerId: req.ownerId ?? null,
        created: w.now,
      };
      const { rows } = await runStatement(w.db, claimMac, values);
      if (rows.length > 0) return mac;
    }
    throw new InsufficientCapacityError(`could not find a free MAC address in zone ${req.zoneId}`);
  }

  /** Releases a MAC; idempotent. */
  async release(w: Writer, zoneId: number, mac: string): Promise<boolean> {
    const r = await w.db
      .deleteFrom('macAddresses')
      .where('zoneId', '=', zoneId)
      .where('mac', '=', mac.toLowerCase())
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}

/** Claims a MAC in a zone (nothing when it is taken: the unique index). */
const claimMac = statement(
  'mac.allocate',
  (q, p: { zoneId: number; mac: string; ownerType: string; ownerId: number | null; created: number }) =>
    q
      .insertInto('macAddresses')
      .values({ zoneId: p.zoneId, mac: p.mac, ownerType: p.ownerType, ownerId: p.ownerId, created: p.created })
      .onConflict((oc) => oc.columns(['zoneId', 'mac']).doNothing())
      .returning('id'),
);
