import type { CloudContext, Writer } from '../context.js';
import type { TemplateSpec } from '../driver/storage-spec.js';
import {
  ConcurrentModificationError,
  InvalidParameterError,
  InvalidStateError,
  NoTransitionError,
  NotFoundError,
  ResourceInUseError,
  ResourceUnavailableError,
} from '../errors.js';
import type { Template } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { type DataObjectInStoreState, dataObjectInStoreStateMachine } from '../model/state-machines/index.js';
import { requireAccess } from '../resources/permissions.js';
import { storagePoolRepo } from '../resources/storage-pools.js';
import { templateRepo } from '../resources/templates.js';
import { zoneRepo } from '../resources/zones.js';
import { SettingsService } from '../settings/settings-service.js';
import { casTransition } from '../store/cas.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db, Store } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { diskFormatOf } from './disk-format.js';
import type { ImageStoreDriver } from './image-store-driver.js';
import type { JobService, SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import { recordTransition } from './record-transition.js';
import { poolRef, storeRef } from './storage-refs.js';

/** CloudStack's download states of a store copy. */
export type DownloadState = 'NOT_DOWNLOADED' | 'DOWNLOAD_IN_PROGRESS' | 'DOWNLOADED' | 'DOWNLOAD_ERROR' | 'ABANDONED';

/** A template or ISO in one image store (CloudStack `template_store_ref`). */
export interface TemplateStoreRef {
  id: number;
  templateId: number;
  storeId: number;
  zoneId: number;
  state: DataObjectInStoreState;
  downloadState: DownloadState;
  downloadPercent: number;
  errorString: string | null;
  installPath: string | null;
  size: number;
  physicalSize: number;
  created: Date;
  lastUpdated: Date;
}

/** A template staged on a primary pool (CloudStack `template_spool_ref`). */
export interface TemplatePoolRef {
  id: number;
  templateId: number;
  poolId: number;
  state: DataObjectInStoreState;
  installPath: string | null;
  size: number;
  physicalSize: number;
  created: Date;
  lastUpdated: Date;
}

const decodeStoreRef = (r: Record<string, unknown>): TemplateStoreRef => ({
  id: Number(r.id),
  templateId: Number(r.templateId),
  storeId: Number(r.storeId),
  zoneId: Number(r.zoneId),
  state: r.state as DataObjectInStoreState,
  downloadState: r.downloadState as DownloadState,
  downloadPercent: Number(r.downloadPercent),
  errorString: (r.errorString as string | null) ?? null,
  installPath: (r.installPath as string | null) ?? null,
  size: Number(r.size),
  physicalSize: Number(r.physicalSize),
  created: new Date(Number(r.created)),
  lastUpdated: new Date(Number(r.lastUpdated)),
});

const decodePoolRef = (r: Record<string, unknown>): TemplatePoolRef => ({
  id: Number(r.id),
  templateId: Number(r.templateId),
  poolId: Number(r.poolId),
  state: r.state as DataObjectInStoreState,
  installPath: (r.installPath as string | null) ?? null,
  size: Number(r.size),
  physicalSize: Number(r.physicalSize),
  created: new Date(Number(r.created)),
  lastUpdated: new Date(Number(r.lastUpdated)),
});

/** Options of {@link TemplateStorageService.stageOnPool}. */
export interface StageOptions {
  /** The host to copy through (must reach the pool); default the first Up host that does. */
  hostId?: number;
  signal?: AbortSignal;
  onProgress?: (percent: number, message?: string) => void;
  /** How often waiters re-read the shared row (default 25 ms). */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stagings in progress in this process, per store (see {@link TemplateStorageService.stageOnPool}). */
const stagingByStore = new WeakMap<Store, Map<string, Promise<TemplatePoolRef>>>();

/**
 * Templates and ISOs on storage (spec/storage.md §6.3–§6.6): one copy per image store of each target
 * zone, downloaded as a job with progress and TEMPLATE.DOWNLOAD.* events; readiness per zone (Ready in
 * at least one store of the zone); staging on a primary pool at first use, at most one copy per
 * (template, pool) across processes (a unique row claimed by compare-and-set; other callers wait on
 * it); deletion per zone, keeping pool copies still used by volumes.
 */
export class TemplateStorageService {
  private readonly settings: SettingsService;
  /**
   * In-process de-duplication of concurrent stagings (the store row does it across processes),
   * shared by every caller's view of the cloud: otherwise each account's deploys would race for
   * the claim and poll while the winner copies.
   */
  private get staging(): Map<string, Promise<TemplatePoolRef>> {
    let map = stagingByStore.get(this.ctx.store);
    if (map === undefined) {
      map = new Map();
      stagingByStore.set(this.ctx.store, map);
    }
    return map;
  }

  constructor(
    private readonly ctx: CloudContext,
    private readonly jobs: JobService,
    private readonly imageStore: ImageStoreDriver,
  ) {
    this.settings = new SettingsService(ctx);
  }

  /** The zones a template targets: its zone, or every zone for a cross-zone template. */
  private async targetZones(db: Db, template: Template, zoneId?: number): Promise<number[]> {
    if (zoneId !== undefined) {
      if (!template.crossZones && template.zoneId !== zoneId)
        throw new InvalidParameterError(
          'zoneId',
          zoneId,
          `template ${template.name} is registered in zone ${template.zoneId}`,
        );
      return [zoneId];
    }
    if (!template.crossZones) return template.zoneId === null ? [] : [template.zoneId];
    const zones = await db.selectFrom('zones').select('id').where('removed', 'is', null).execute();
    return zones.map((z) => Number(z.id));
  }

  /**
   * Makes sure every image store of the target zones has a copy row (`Allocated`,
   * `NOT_DOWNLOADED`); Failed copies are retired and replaced so a new download can retry them.
   */
  async ensureStoreRefs(templateId: Ref, zoneId?: Ref): Promise<TemplateStoreRef[]> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    if (zoneId !== undefined) zoneId = await zoneRepo.resolve(this.ctx.db, zoneId, 'zoneId');
    return this.ctx.write(async (w) => {
      const template = await templateRepo.get(w.db, templateId, 'templateId');
      const zones = await this.targetZones(w.db, template, zoneId);
      if (zones.length === 0) return [];
      const stores = await w.db
        .selectFrom('imageStores')
        .selectAll()
        .where('zoneId', 'in', zones)
        .where('removed', 'is', null)
        .orderBy('id')
        .execute();
      for (const store of stores) {
        const existing = await w.db
          .selectFrom('templateStoreRefs')
          .selectAll()
          .where('templateId', '=', templateId)
          .where('storeId', '=', Number(store.id))
          .where('removed', 'is', null)
          .executeTakeFirst();
        if (existing?.state === 'Failed') {
          await casTransition(w.db, {
            table: 'templateStoreRefs',
            id: Number(existing.id),
            machine: dataObjectInStoreStateMachine,
            event: 'DestroyRequested',
          });
          await casTransition(w.db, {
            table: 'templateStoreRefs',
            id: Number(existing.id),
            machine: dataObjectInStoreStateMachine,
            event: 'OperationSucceeded',
            set: { removed: w.now, lastUpdated: w.now },
          });
        } else if (existing) continue;
        await w.db
          .insertInto('templateStoreRefs')
          .values(newStoreRef(templateId, Number(store.id), Number(store.zoneId), w.now))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      return this.storeRefsIn(w.db, templateId, zones);
    });
  }

  private async storeRefsIn(db: Db, templateId: number, zones?: number[]): Promise<TemplateStoreRef[]> {
    let q = db
      .selectFrom('templateStoreRefs')
      .selectAll()
      .where('templateId', '=', templateId)
      .where('removed', 'is', null);
    if (zones) q = q.where('zoneId', 'in', zones.length > 0 ? zones : [-1]);
    return (await q.orderBy('id').execute()).map((r) => decodeStoreRef(r));
  }

  /** The template's live store copies (optionally of one zone). */
  async storeRefs(templateId: Ref, filter: { zoneId?: number } = {}): Promise<TemplateStoreRef[]> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    return this.storeRefsIn(this.ctx.db, templateId, filter.zoneId === undefined ? undefined : [filter.zoneId]);
  }

  /** The template's live pool copies. */
  async poolRefs(templateId: Ref): Promise<TemplatePoolRef[]> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    const rows = await this.ctx.db
      .selectFrom('templatePoolRefs')
      .selectAll()
      .where('templateId', '=', templateId)
      .where('removed', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((r) => decodePoolRef(r));
  }

  /** Ready in a zone = Ready in at least one image store of the zone (storage.md §10). */
  async isReadyInZone(templateId: Ref, zoneId: Ref, db: Db = this.ctx.db): Promise<boolean> {
    templateId = await templateRepo.resolve(db, templateId, 'templateId');
    zoneId = await zoneRepo.resolve(db, zoneId, 'zoneId');
    const row = await db
      .selectFrom('templateStoreRefs')
      .select('id')
      .where('templateId', '=', templateId)
      .where('zoneId', '=', zoneId)
      .where('state', '=', 'Ready')
      .where('removed', 'is', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The Ready store copy a zone serves the template from; InvalidStateError when none. */
  async requireReadyInZone(templateId: Ref, zoneId: Ref, db: Db = this.ctx.db): Promise<TemplateStoreRef> {
    templateId = await templateRepo.resolve(db, templateId, 'templateId');
    zoneId = await zoneRepo.resolve(db, zoneId, 'zoneId');
    const { rows } = await runStatement(db, templatesReadyInZone, { templateId, zoneId });
    const row = rows[0];
    if (!row)
      throw new InvalidStateError(`template ${templateId} is not Ready in zone ${zoneId}`, {
        field: 'templateId',
        value: templateId,
        details: { zoneId },
      });
    return decodeStoreRef(row);
  }

  /**
   * Downloads the template into every image store of its zone(s) (or of `zoneId`) as a job:
   * TEMPLATE.DOWNLOAD.START, progress (downloadPercent and the job's progress), then
   * TEMPLATE.DOWNLOAD.SUCCESS (copy Ready) or TEMPLATE.DOWNLOAD.FAILED (copy Failed). The job fails
   * when any copy failed. Copies already downloaded or being downloaded elsewhere are left alone.
   */
  async download(templateId: Ref, options: { zoneId?: number } = {}): Promise<SubmittedJob<TemplateStoreRef[]>> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    const template = await templateRepo.get(this.ctx.db, templateId, 'templateId');
    await requireAccess(this.ctx.db, this.ctx.caller, template, 'download a template');
    const url = template.url;
    if (!url) throw new InvalidParameterError('templateId', templateId, 'the template has no URL to download');
    const refs = await this.ensureStoreRefs(templateId, options.zoneId);
    if (refs.length === 0)
      throw new InvalidStateError(`no image store serves template ${template.name}`, {
        field: 'zoneId',
        value: options.zoneId ?? template.zoneId,
      });
    const resourceType = template.isIso ? 'Iso' : 'Template';
    return this.jobs.submit(
      {
        cmd: template.isIso ? 'registerIso' : 'registerTemplate',
        info: { templateId, zoneId: options.zoneId ?? null },
        instance: { type: resourceType, id: template.id, uuid: template.uuid },
        eventType: 'TEMPLATE.DOWNLOAD',
        description: `download ${template.name} to secondary storage`,
      },
      async (job) => {
        const pending = refs.filter((r) => r.state === 'Allocated' && r.downloadState === 'NOT_DOWNLOADED');
        const failures: string[] = [];
        let done = 0;
        for (const ref of pending) {
          const claimed = await this.ctx.db
            .updateTable('templateStoreRefs')
            .set((eb) => ({
              downloadState: 'DOWNLOAD_IN_PROGRESS',
              downloadPercent: 0,
              lastUpdated: this.ctx.clock.now(),
              updatedCount: eb('updatedCount', '+', 1),
            }))
            .where('id', '=', ref.id)
            .where('downloadState', '=', 'NOT_DOWNLOADED')
            .where('state', '=', 'Allocated')
            .executeTakeFirst();
          if (Number(claimed.numUpdatedRows) !== 1) continue;
          const store = await this.ctx.db
            .selectFrom('imageStores')
            .selectAll()
            .where('id', '=', ref.storeId)
            .executeTakeFirstOrThrow();
          const base = {
            resourceType,
            resourceId: template.id,
            resourceUuid: template.uuid,
            accountId: template.accountId,
            domainId: template.domainId,
          } as const;
          await this.ctx.write((w) =>
            w.event({
              type: 'TEMPLATE.DOWNLOAD.START',
              description: `downloading ${template.name} into ${store.url}`,
              ...base,
              parameters: { storeId: ref.storeId, zoneId: ref.zoneId },
            }),
          );
          let lastQuarter = 0;
          let writes = Promise.resolve();
          try {
            const object = await this.imageStore.download(
              storeRef(store),
              {
                uuid: template.uuid,
                kind: template.isIso ? 'iso' : 'template',
                url,
                extension: template.isIso ? 'iso' : diskFormatOf(template.format),
                checksum: template.checksum,
              },
              {
                signal: job.signal,
                onProgress: (percent) => {
                  const overall = ((done + percent / 100) / pending.length) * 100;
                  const quarter = Math.floor(percent / 25);
                  writes = writes
                    .then(async () => {
                      await this.ctx.db
                        .updateTable('templateStoreRefs')
                        .set({ downloadPercent: Math.round(percent), lastUpdated: this.ctx.clock.now() })
                        .where('id', '=', ref.id)
                        .where('downloadState', '=', 'DOWNLOAD_IN_PROGRESS')
                        .execute();
                      await job.progress(overall, `${template.name}: ${Math.round(percent)}% in ${store.url}`);
                      if (quarter > lastQuarter && percent < 100) {
                        lastQuarter = quarter;
                        await this.ctx.write((w) =>
                          w.event({
                            type: 'TEMPLATE.DOWNLOAD.PROGRESS',
                            description: `${template.name}: ${Math.round(percent)}% in ${store.url}`,
                            ...base,
                            parameters: { storeId: ref.storeId, percent: Math.round(percent) },
                          }),
                        );
                      }
                    })
                    .catch(() => undefined);
                },
              },
            );
            await writes;
            await this.ctx.write(async (w) => {
              const r = await casTransition(w.db, {
                table: 'templateStoreRefs',
                id: ref.id,
                machine: dataObjectInStoreStateMachine,
                event: 'OperationSucceeded',
                set: {
                  downloadState: 'DOWNLOADED',
                  downloadPercent: 100,
                  installPath: object.path,
                  size: object.sizeBytes,
                  physicalSize: object.physicalSizeBytes,
                  errorString: null,
                  lastUpdated: w.now,
                },
              });
              await recordTransition(
                w,
                {
                  type: resourceType,
                  id: template.id,
                  uuid: template.uuid,
                  prefix: 'TEMPLATE.STORE',
                  machine: dataObjectInStoreStateMachine.name,
                  event: 'OperationSucceeded',
                  accountId: template.accountId,
                  domainId: template.domainId,
                },
                r,
              );
              await w.event({
                type: 'TEMPLATE.DOWNLOAD.SUCCESS',
                description: `${template.name} downloaded into ${store.url}`,
                ...base,
                parameters: { storeId: ref.storeId, zoneId: ref.zoneId, size: object.sizeBytes },
              });
            });
          } catch (error) {
            await writes;
            const message = error instanceof Error ? error.message : String(error);
            failures.push(`${store.url}: ${message}`);
            await this.ctx.write(async (w) => {
              const r = await casTransition(w.db, {
                table: 'templateStoreRefs',
                id: ref.id,
                machine: dataObjectInStoreStateMachine,
                event: 'OperationFailed',
                set: { downloadState: 'DOWNLOAD_ERROR', errorString: message, lastUpdated: w.now },
              });
              await recordTransition(
                w,
                {
                  type: resourceType,
                  id: template.id,
                  uuid: template.uuid,
                  prefix: 'TEMPLATE.STORE',
                  machine: dataObjectInStoreStateMachine.name,
                  event: 'OperationFailed',
                  accountId: template.accountId,
                  domainId: template.domainId,
                },
                r,
              );
              await w.event({
                type: 'TEMPLATE.DOWNLOAD.FAILED',
                level: 'ERROR',
                description: `download of ${template.name} into ${store.url} failed: ${message}`,
                ...base,
                parameters: { storeId: ref.storeId, zoneId: ref.zoneId },
              });
            });
          }
          done++;
        }
        if (failures.length > 0)
          throw new ResourceUnavailableError(`download of ${template.name} failed: ${failures.join('; ')}`, {
            field: 'templateId',
            value: templateId,
          });
        return this.storeRefs(templateId, options.zoneId === undefined ? {} : { zoneId: options.zoneId });
      },
    );
  }

  /**
   * The template's copy on a primary pool, copying it from secondary storage first if needed
   * (storage.md §6.4). At most one `copyTemplateToPrimary` per (template, pool): the unique
   * `template_pool_refs` row is claimed Allocated → Creating by one caller; every other caller, in
   * this process or another, waits for it to become Ready (or, if that copy fails, competes again).
   * A claim older than `primary.storage.download.wait` is taken over.
   */
  async stageOnPool(templateId: Ref, poolId: Ref, options: StageOptions = {}): Promise<TemplatePoolRef> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    poolId = await storagePoolRepo.resolve(this.ctx.db, poolId, 'poolId');
    const key = `${templateId}:${poolId}`;
    const inflight = this.staging.get(key);
    if (inflight) return inflight;
    const promise = this.stage(templateId, poolId, options).finally(() => this.staging.delete(key));
    this.staging.set(key, promise);
    return promise;
  }

  private async stage(templateId: number, poolId: number, options: StageOptions): Promise<TemplatePoolRef> {
    const poolRefRow = async () =>
      (await runStatement(this.ctx.db, templatePoolRefStatement, { templateId, poolId })).rows[0];
    // Already staged (every deploy after a pool's first) and still deployable — the template live,
    // the pool live, a Ready copy in the pool's zone: one read, no write.
    const { rows: ready } = await runStatement(this.ctx.db, templateStagedAndDeployable, { templateId, poolId });
    if (ready[0] !== undefined) return decodePoolRef(ready[0]);
    // A template deleted in the pool's zone is not staged for new use, even where a copy remains.
    const template = await templateRepo.get(this.ctx.db, templateId, 'templateId');
    const pool = await getPoolRow(this.ctx.db, poolId);
    const source = await this.requireReadyInZone(templateId, Number(pool.zoneId));
    const waitSeconds = await this.settings.get('primary.storage.download.wait', {}, this.ctx.db);
    const pollMs = options.pollMs ?? 25;
    for (;;) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const now = this.ctx.clock.now();
      await this.ctx.db
        .insertInto('templatePoolRefs')
        .values({
          templateId,
          poolId,
          state: 'Allocated',
          installPath: null,
          size: 0,
          physicalSize: 0,
          claimedBy: null,
          claimedAt: null,
          errorString: null,
          created: now,
          lastUpdated: now,
          removed: null,
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const row = await poolRefRow();
      if (!row) continue;
      const ref = decodePoolRef(row);
      if (ref.state === 'Ready') return ref;
      if (ref.state === 'Creating') {
        if (row.claimedAt !== null && now - Number(row.claimedAt) > waitSeconds * 1000) {
          await this.ctx
            .write((w) =>
              casTransition(w.db, {
                table: 'templatePoolRefs',
                id: ref.id,
                machine: dataObjectInStoreStateMachine,
                event: 'OperationFailed',
                set: {
                  claimedBy: null,
                  claimedAt: null,
                  errorString: 'copy timed out (primary.storage.download.wait)',
                  lastUpdated: w.now,
                },
              }),
            )
            .catch((e: unknown) => {
              if (!(e instanceof ConcurrentModificationError)) throw e;
            });
          continue;
        }
        await sleep(pollMs);
        continue;
      }
      if (ref.state !== 'Allocated') {
        await sleep(pollMs);
        continue;
      }
      const token = newUuid();
      const won = await this.ctx
        .write(async (w) => {
          await casTransition(w.db, {
            table: 'templatePoolRefs',
            id: ref.id,
            machine: dataObjectInStoreStateMachine,
            event: 'CreateOnlyRequested',
            set: { claimedBy: token, claimedAt: w.now, lastUpdated: w.now },
          });
          return true;
        })
        .catch((e: unknown) => {
          // Another claimant moved the row first (version changed, or it is already Creating).
          if (e instanceof ConcurrentModificationError || e instanceof NoTransitionError) return false;
          throw e;
        });
      if (!won) continue;
      return this.copy(template, pool, ref, source, options);
    }
  }

  private async copy(
    template: Template,
    pool: Awaited<ReturnType<typeof getPoolRow>>,
    ref: TemplatePoolRef,
    source: TemplateStoreRef,
    options: StageOptions,
  ): Promise<TemplatePoolRef> {
    try {
      const hosts = await hostsReaching(this.ctx.db, ref.poolId);
      const host = options.hostId === undefined ? hosts[0] : hosts.find((h) => h.id === options.hostId);
      if (!host)
        throw new ResourceUnavailableError(`no Up host reaches pool ${pool.name}`, {
          field: 'poolId',
          value: ref.poolId,
        });
      const store = await this.ctx.db
        .selectFrom('imageStores')
        .selectAll()
        .where('id', '=', source.storeId)
        .executeTakeFirstOrThrow();
      const spec: TemplateSpec = {
        uuid: template.uuid,
        name: template.name,
        url: `${store.url.replace(/\/$/, '')}/${source.installPath ?? ''}`,
        format: template.isIso ? 'iso' : diskFormatOf(template.format, template.hypervisorType),
        sizeBytes: source.size,
        physicalSizeBytes: source.physicalSize,
        ...(template.checksum ? { checksum: template.checksum } : {}),
        isIso: template.isIso,
      };
      const driver = this.ctx.drivers.hypervisor(host.hypervisorType);
      const staged = await driver.copyTemplateToPrimary(host.ref, spec, poolRef(pool), {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      return await this.ctx.write(async (w) => {
        await casTransition(w.db, {
          table: 'templatePoolRefs',
          id: ref.id,
          machine: dataObjectInStoreStateMachine,
          event: 'OperationSucceeded',
          set: {
            installPath: staged.path,
            size: staged.sizeBytes,
            physicalSize: staged.physicalSizeBytes,
            claimedBy: null,
            claimedAt: null,
            errorString: null,
            lastUpdated: w.now,
          },
        });
        await w.event({
          type: 'TEMPLATE.COPY.PRIMARY',
          description: `${template.name} staged on pool ${pool.name}`,
          resourceType: template.isIso ? 'Iso' : 'Template',
          resourceId: template.id,
          resourceUuid: template.uuid,
          parameters: { poolId: ref.poolId, path: staged.path },
        });
        const row = await w.db
          .selectFrom('templatePoolRefs')
          .selectAll()
          .where('id', '=', ref.id)
          .executeTakeFirstOrThrow();
        return decodePoolRef(row);
      });
    } catch (error) {
      await this.ctx.write((w) =>
        casTransition(w.db, {
          table: 'templatePoolRefs',
          id: ref.id,
          machine: dataObjectInStoreStateMachine,
          event: 'OperationFailed',
          set: {
            claimedBy: null,
            claimedAt: null,
            errorString: error instanceof Error ? error.message : String(error),
            lastUpdated: w.now,
          },
        }),
      );
      throw error;
    }
  }

  /**
   * Deletes the template's copies in one zone (or, without `zoneId`, in every zone) as a job
   * (storage.md §6.6). New deploys from it in those zones are refused from then on; running VMs are
   * unaffected; pool copies of those zones no volume references are removed, referenced ones stay
   * until {@link cleanupUnusedPoolCopies} finds them unused. The template record goes when no store
   * copy remains.
   */
  async deleteFromZone(templateId: Ref, zoneId?: Ref): Promise<SubmittedJob<{ removedTemplate: boolean }>> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    if (zoneId !== undefined) zoneId = await zoneRepo.resolve(this.ctx.db, zoneId, 'zoneId');
    const template = await templateRepo.get(this.ctx.db, templateId, 'templateId');
    await requireAccess(this.ctx.db, this.ctx.caller, template, 'delete a template');
    const zones = await this.targetZones(this.ctx.db, template, zoneId);
    const busy = (await this.storeRefsIn(this.ctx.db, templateId, zones)).find(
      (r) => r.downloadState === 'DOWNLOAD_IN_PROGRESS',
    );
    if (busy)
      throw new ResourceInUseError(`template ${template.name} is downloading into store ${busy.storeId}`, {
        field: 'templateId',
        value: templateId,
      });
    const resourceType = template.isIso ? 'Iso' : 'Template';
    return this.jobs.submit(
      {
        cmd: template.isIso ? 'deleteIso' : 'deleteTemplate',
        info: { templateId, zoneId: zoneId ?? null },
        instance: { type: resourceType, id: template.id, uuid: template.uuid },
        eventType: template.isIso ? 'ISO.DELETE' : 'TEMPLATE.DELETE',
        description: `delete ${template.name}${zoneId === undefined ? ' from every zone' : ` from zone ${zoneId}`}`,
      },
      async () => {
        for (const ref of await this.storeRefsIn(this.ctx.db, templateId, zones)) {
          await this.ctx.write((w) =>
            casTransition(w.db, {
              table: 'templateStoreRefs',
              id: ref.id,
              machine: dataObjectInStoreStateMachine,
              event: 'DestroyRequested',
              set: { lastUpdated: w.now },
            }),
          );
          const store = await this.ctx.db
            .selectFrom('imageStores')
            .selectAll()
            .where('id', '=', ref.storeId)
            .executeTakeFirstOrThrow();
          if (ref.installPath) await this.imageStore.delete(storeRef(store), ref.installPath);
          await this.ctx.write((w) =>
            casTransition(w.db, {
              table: 'templateStoreRefs',
              id: ref.id,
              machine: dataObjectInStoreStateMachine,
              event: 'OperationSucceeded',
              set: { removed: w.now, lastUpdated: w.now },
            }),
          );
        }
        const pools = await this.ctx.db
          .selectFrom('storagePools')
          .select('id')
          .where('zoneId', 'in', zones.length > 0 ? zones : [-1])
          .execute();
        await this.cleanupUnusedPoolCopies({ templateId, poolIds: pools.map((p) => Number(p.id)) });
        return this.ctx.write(async (w) => {
          for (const z of zones) {
            await w.event({
              type: template.isIso ? 'ISO.DELETE' : 'TEMPLATE.DELETE',
              description: `${template.name} deleted from zone ${z}`,
              resourceType,
              resourceId: template.id,
              resourceUuid: template.uuid,
              accountId: template.accountId,
              domainId: template.domainId,
              parameters: { zoneId: z },
            });
          }
          const left = await w.db
            .selectFrom('templateStoreRefs')
            .select('id')
            .where('templateId', '=', templateId)
            .where('removed', 'is', null)
            .executeTakeFirst();
          const zoneOnly = !template.crossZones && (zoneId === undefined || template.zoneId === zoneId);
          if (left || (!zoneOnly && zoneId !== undefined)) return { removedTemplate: false };
          await w.db.deleteFrom('templatePermissions').where('templateId', '=', templateId).execute();
          await templateRepo.markRemoved(w.db, templateId, w.now);
          return { removedTemplate: true };
        });
      },
    );
  }

  /**
   * Removes pool copies no live volume references (storage.md §6.4 step 6, §6.6); with `templateId`
   * / `poolIds` only those. Returns how many were removed.
   */
  async cleanupUnusedPoolCopies(filter: { templateId?: number; poolIds?: number[] } = {}): Promise<number> {
    let q = this.ctx.db
      .selectFrom('templatePoolRefs')
      .selectAll()
      .where('removed', 'is', null)
      .where('state', '=', 'Ready');
    if (filter.templateId !== undefined) q = q.where('templateId', '=', filter.templateId);
    if (filter.poolIds) q = q.where('poolId', 'in', filter.poolIds.length > 0 ? filter.poolIds : [-1]);
    let removed = 0;
    for (const row of await q.execute()) {
      const ref = decodePoolRef(row);
      const used = await this.ctx.db
        .selectFrom('volumes')
        .select('id')
        .where('templateId', '=', ref.templateId)
        .where('poolId', '=', ref.poolId)
        .where('removed', 'is', null)
        .where('state', 'not in', ['Expunged'])
        .executeTakeFirst();
      if (used) continue;
      const claimed = await this.ctx
        .write(async (w) => {
          await casTransition(w.db, {
            table: 'templatePoolRefs',
            id: ref.id,
            machine: dataObjectInStoreStateMachine,
            event: 'DestroyRequested',
            set: { lastUpdated: w.now },
          });
          return true;
        })
        .catch((e: unknown) => {
          if (e instanceof ConcurrentModificationError) return false;
          throw e;
        });
      if (!claimed) continue;
      const template = await this.ctx.db
        .selectFrom('templates')
        .select(['uuid'])
        .where('id', '=', ref.templateId)
        .executeTakeFirst();
      const pool = await getPoolRow(this.ctx.db, ref.poolId).catch(() => undefined);
      const host = pool ? (await hostsReaching(this.ctx.db, ref.poolId))[0] : undefined;
      if (pool && host && template) {
        // The staged copy is a volume-like object on the pool named after the template.
        await this.ctx.drivers.hypervisor(host.hypervisorType).deleteVolume(host.ref, {
          uuid: template.uuid,
          pool: poolRef(pool),
          ...(ref.installPath ? { path: ref.installPath } : {}),
        });
      }
      await this.ctx.write((w) =>
        casTransition(w.db, {
          table: 'templatePoolRefs',
          id: ref.id,
          machine: dataObjectInStoreStateMachine,
          event: 'OperationSucceeded',
          set: { removed: w.now, lastUpdated: w.now },
        }),
      );
      removed++;
    }
    return removed;
  }

  /** The store copy used to serve a deploy in `zoneId` and the template's virtual size there. */
  async virtualSize(templateId: Ref, zoneId: Ref, db: Db = this.ctx.db): Promise<number> {
    templateId = await templateRepo.resolve(db, templateId, 'templateId');
    zoneId = await zoneRepo.resolve(db, zoneId, 'zoneId');
    return (await this.requireReadyInZone(templateId, zoneId, db)).size;
  }

  /** Not-found-safe read for the orchestrator. */
  async find(templateId: Ref): Promise<Template | undefined> {
    templateId = await templateRepo.resolve(this.ctx.db, templateId, 'templateId');
    return templateRepo.find(this.ctx.db, templateId);
  }

  /**
   * For callers that hold a Writer: Ready in the zone, or throw (deploy step 1). `template` is the
   * live record of `templateId` when the caller has already read it in this transaction (then it
   * is not found again).
   */
  async checkDeployable(
    w: Writer,
    templateId: number,
    zoneId: number,
    template?: Pick<Template, 'id'>,
  ): Promise<TemplateStoreRef> {
    if (template?.id !== templateId && !(await templateRepo.find(w.db, templateId)))
      throw new NotFoundError('Template', 'templateId', templateId);
    return this.requireReadyInZone(templateId, zoneId, w.db);
  }
}

/** A template's copy on an image store as first recorded: Allocated, nothing downloaded yet. */
export function newStoreRef(templateId: number, storeId: number, zoneId: number, now: number) {
  return {
    templateId,
    storeId,
    zoneId,
    state: 'Allocated',
    downloadState: 'NOT_DOWNLOADED',
    downloadPercent: 0,
    errorString: null,
    installPath: null,
    size: 0,
    physicalSize: 0,
    created: now,
    lastUpdated: now,
    removed: null,
  };
}

/** A template's copy on a pool (live rows). */
function selectPoolRef(db: Db, templateId: number, poolId: number) {
  return db
    .selectFrom('templatePoolRefs')
    .selectAll()
    .where('templateId', '=', templateId)
    .where('poolId', '=', poolId)
    .where('removed', 'is', null);
}

const templatesReadyInZone = statement('templates.readyInZone', (q, p: { templateId: number; zoneId: number }) =>
  q
    .selectFrom('templateStoreRefs')
    .selectAll()
    .where('templateId', '=', p.templateId)
    .where('zoneId', '=', p.zoneId)
    .where('state', '=', 'Ready')
    .where('removed', 'is', null)
    .orderBy('id'),
);

const templatePoolRefStatement = statement('template.poolRef', (q, p: { templateId: number; poolId: number }) =>
  selectPoolRef(q, p.templateId, p.poolId),
);

const templateStagedAndDeployable = statement(
  'template.stagedAndDeployable',
  (q, p: { templateId: number; poolId: number }) =>
    q
      .selectFrom('templatePoolRefs as r')
      .innerJoin('templates as t', 't.id', 'r.templateId')
      .innerJoin('storagePools as p', 'p.id', 'r.poolId')
      .selectAll('r')
      .where('r.templateId', '=', p.templateId)
      .where('r.poolId', '=', p.poolId)
      .where('r.state', '=', 'Ready')
      .where('r.removed', 'is', null)
      .where('t.removed', 'is', null)
      .where('p.removed', 'is', null)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('templateStoreRefs as s')
            .select('s.id')
            .whereRef('s.templateId', '=', 'r.templateId')
            .whereRef('s.zoneId', '=', 'p.zoneId')
            .where('s.state', '=', 'Ready')
            .where('s.removed', 'is', null),
        ),
      ),
);
