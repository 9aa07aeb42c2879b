import type { Caller, Writer } from '../context.js';
import type { TemplateResult } from '../driver/storage-spec.js';
import type { DiskFormat } from '../driver/vm-spec.js';
import { InvalidParameterError, ResourceUnavailableError } from '../errors.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { newStoreRef } from './templates-storage.js';

/** What a user gives for a template made from a volume or a snapshot (CloudStack `createTemplate`). */
export interface PrivateTemplateInput {
  name: string;
  displayText?: string;
  osType?: string;
}

/** A template record being written by a driver: its ids and the store copy that will hold it. */
export interface PendingTemplate {
  id: number;
  uuid: string;
  refId: number;
}

/** The template name, trimmed; `InvalidParameterError` on `name` when empty. */
export function requireTemplateName(input: PrivateTemplateInput): string {
  if (typeof input.name !== 'string' || input.name.trim() === '')
    throw new InvalidParameterError('name', input.name, 'a template name is required');
  return input.name.trim();
}

/** The zone's first live image store; `ResourceUnavailableError` naming `field` when it has none. */
export async function firstImageStore(db: Db, zoneId: number, field: string, value: unknown) {
  const store = await db
    .selectFrom('imageStores')
    .selectAll()
    .where('zoneId', '=', zoneId)
    .where('removed', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
  if (!store) throw new ResourceUnavailableError(`zone ${zoneId} has no secondary storage`, { field, value });
  return store;
}

/**
 * Inserts a private (caller-owned, USER, zone-bound) template and its store copy, before the driver writes the
 * image: the record the driver's `createTemplateFromVolume` / `createTemplateFromSnapshot` fills.
 */
export async function insertPrivateTemplate(
  w: Writer,
  input: PrivateTemplateInput,
  where: { zoneId: number; storeId: number; hypervisorType: string | null; format: DiskFormat; caller: Caller },
): Promise<PendingTemplate> {
  const name = requireTemplateName(input);
  const row = await w.db
    .insertInto('templates')
    .values({
      uuid: newUuid(),
      name,
      displayText: input.displayText ?? name,
      url: null,
      format: where.format.toUpperCase(),
      hypervisorType: where.hypervisorType,
      osType: input.osType ?? 'Other',
      osCategory: 'Other',
      isIso: 0,
      isPublic: 0,
      isFeatured: 0,
      isExtractable: 0,
      passwordEnabled: 0,
      sshKeyEnabled: 0,
      requiresHvm: 1,
      bits: 64,
      bootable: 0,
      crossZones: 0,
      zoneId: where.zoneId,
      templateType: 'USER',
      checksum: null,
      accountId: where.caller.accountId,
      domainId: where.caller.domainId,
      state: 'Active',
      created: w.now,
      removed: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const ref = await w.db
    .insertInto('templateStoreRefs')
    .values(newStoreRef(Number(row.id), where.storeId, where.zoneId, w.now))
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), uuid: row.uuid, refId: Number(ref.id) };
}

/** Marks the store copy written by the driver Ready and DOWNLOADED, with the path and sizes the driver gave. */
export async function completePrivateTemplate(w: Writer, pending: PendingTemplate, result: TemplateResult) {
  await w.db
    .updateTable('templateStoreRefs')
    .set((eb) => ({
      state: 'Ready',
      downloadState: 'DOWNLOADED',
      downloadPercent: 100,
      installPath: result.path,
      size: result.sizeBytes,
      physicalSize: result.physicalSizeBytes,
      lastUpdated: w.now,
      updatedCount: eb('updatedCount', '+', 1),
    }))
    .where('id', '=', pending.refId)
    .execute();
}

/** Removes a template whose image the driver failed to write, with its store copy. */
export async function discardPrivateTemplate(w: Writer, pending: PendingTemplate) {
  await w.db
    .updateTable('templateStoreRefs')
    .set({ removed: w.now, state: 'Destroyed' })
    .where('id', '=', pending.refId)
    .execute();
  await w.db.updateTable('templates').set({ removed: w.now }).where('id', '=', pending.id).execute();
}

/**
 * Has the driver write a pending template's image (`write`), then completes the record with a
 * `TEMPLATE.CREATE` event naming its source, or discards it when the driver fails.
 */
export async function writePrivateTemplate(
  ctx: { write<T>(fn: (w: Writer) => Promise<T>): Promise<T> },
  pending: PendingTemplate,
  source: { name: string; description: string; parameters: Record<string, unknown> },
  write: () => Promise<TemplateResult>,
): Promise<{ templateId: number }> {
  try {
    const result = await write();
    await ctx.write(async (w) => {
      await completePrivateTemplate(w, pending, result);
      await w.event({
        type: 'TEMPLATE.CREATE',
        description: `template ${source.name} created from ${source.description}`,
        resourceType: 'Template',
        resourceId: pending.id,
        resourceUuid: pending.uuid,
        parameters: source.parameters,
      });
    });
    return { templateId: pending.id };
  } catch (error) {
    await ctx.write((w) => discardPrivateTemplate(w, pending));
    throw error;
  }
}
