import type { CloudContext } from '../context.js';
import { InvalidParameterError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { ImageStore } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { optionalString, requireString } from '../model/validate.js';
import { decoder } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { requireRootAdmin } from './permissions.js';
import { Repo } from './repo.js';
import { zoneRepo } from './zones.js';

export const imageStoreRepo = new Repo<ImageStore>('imageStores', 'ImageStore', decoder<ImageStore>({}));

/**
 * Secondary storage (spec/resource-model.md §3.2): NFS image stores per zone, one or more, holding
 * templates, ISOs and snapshots.
 */
export class ImageStoreService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref): Promise<ImageStore> {
    id = await imageStoreRepo.resolve(this.ctx.db, id);
    return imageStoreRepo.get(this.ctx.db, id);
  }

  /** Image stores by id, of a zone, a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(filter: { zoneId?: Ref } & ListOptions = {}): Promise<ImageStore[]> {
    return imageStoreRepo.listFor(this.ctx, filter, { zoneId: zoneRepo });
  }

  /** Adds an NFS image store, `nfs://server/export`. */
  add(input: { zoneId: Ref; url: string; name?: string }): Promise<ImageStore> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'add secondary storage');
      const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
      const url = requireString('url', input.url);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new InvalidParameterError('url', url, 'expected nfs://server/export');
      }
      if (parsed.protocol !== 'nfs:')
        throw new InvalidParameterError('url', url, 'secondary storage is NFS only (nfs://server/export)');
      if (!parsed.hostname || parsed.pathname === '' || parsed.pathname === '/')
        throw new InvalidParameterError('url', url, 'expected nfs://server/export');
      if ((await imageStoreRepo.count(w.db, { zoneId: zone.id, url })) > 0)
        throw new InvalidParameterError('url', url, `already an image store of zone ${zone.name}`);
      const row = await w.db
        .insertInto('imageStores')
        .values({
          uuid: newUuid(),
          name: optionalString('name', input.name) ?? `${parsed.hostname}${parsed.pathname}`,
          url,
          protocol: 'nfs',
          zoneId: zone.id,
          role: 'Image',
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const store = imageStoreRepo.decode(row);
      await w.event({
        type: 'IMAGE.STORE.ADD',
        description: `secondary storage ${url} added to zone ${zone.name}`,
        resourceType: 'ImageStore',
        resourceId: store.id,
        resourceUuid: store.uuid,
      });
      return store;
    });
  }

  /** The zone's last image store cannot go while the zone has templates registered in it. */
  async delete(id: Ref): Promise<void> {
    id = await imageStoreRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete secondary storage');
      const store = await imageStoreRepo.get(w.db, id);
      const others = (await imageStoreRepo.count(w.db, { zoneId: store.zoneId })) - 1;
      if (others === 0) {
        const templates = await w.db
          .selectFrom('templates')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('removed', 'is', null)
          .where((eb) => eb.or([eb('zoneId', '=', store.zoneId), eb('crossZones', '=', 1)]))
          .executeTakeFirst();
        if (Number(templates?.n ?? 0) > 0) {
          throw new ResourceInUseError(`the zone's last image store still serves ${templates?.n} template(s)`, {
            field: 'id',
            value: id,
          });
        }
      }
      await imageStoreRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'IMAGE.STORE.DELETE',
        description: `secondary storage ${store.url} removed`,
        resourceType: 'ImageStore',
        resourceId: id,
        resourceUuid: store.uuid,
      });
    });
  }
}
