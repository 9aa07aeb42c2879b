import type { CloudContext } from '../context.js';
import { InvalidParameterError, PermissionDeniedError } from '../errors.js';
import {
  FORMATS_BY_HYPERVISOR,
  HYPERVISOR_TYPES,
  type HypervisorType,
  IMAGE_FORMATS,
  type ImageFormat,
  OS_CATEGORIES,
  type OsCategory,
  TEMPLATE_TYPES,
  type TemplateType,
} from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { Template } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { TEMPLATE_REGISTERED_INITIAL_STATE } from '../model/state-machines/index.js';
import { optionalString, requireOneOf, requireString } from '../model/validate.js';
import { SettingsService } from '../settings/settings-service.js';
import { bit, decoder } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { listPaging, pageArray } from './list-paging.js';
import { isRootAdmin, requireAccess } from './permissions.js';
import { resolveOptionalRef, resolveRefs } from './ref-resolution.js';
import { Repo } from './repo.js';
import { checkResourceLimits } from './resource-limits.js';
import { accountRepo } from './tenancy.js';
import { zoneRepo } from './zones.js';

export const templateRepo = new Repo<Template>(
  'templates',
  'Template',
  decoder<Template>({
    bool: [
      'isIso',
      'isPublic',
      'isFeatured',
      'isExtractable',
      'passwordEnabled',
      'sshKeyEnabled',
      'requiresHvm',
      'bootable',
      'crossZones',
    ],
  }),
);

/** A template or ISO to register: its URL, format, OS type, hypervisor and visibility. */
export interface RegisterTemplateInput {
  name: string;
  displayText?: string;
  /** HTTP or HTTPS; may be .gz/.bz2/.zip compressed. */
  url: string;
  format: ImageFormat;
  /** Required for templates; ISOs are hypervisor-independent. */
  hypervisorType?: HypervisorType;
  /** Guest OS type, e.g. "Ubuntu 22.04 (64-bit)"; default "Other". */
  osType?: string;
  /** Default: derived from osType, else Other. */
  osCategory?: OsCategory;
  /** The zone it is registered in; omit with crossZones for every zone. */
  zoneId?: Ref;
  crossZones?: boolean;
  isPublic?: boolean;
  /** Root admins only. */
  isFeatured?: boolean;
  isExtractable?: boolean;
  passwordEnabled?: boolean;
  sshKeyEnabled?: boolean;
  requiresHvm?: boolean;
  bits?: 32 | 64;
  checksum?: string;
  /** ISOs: can a VM boot from it. */
  bootable?: boolean;
  /** Owner; default the caller's account. */
  accountId?: Ref;
  templateType?: TemplateType;
}

/** Which templates a listing shows, as CloudStack's `templatefilter`. */
export type TemplateFilter = 'self' | 'featured' | 'community' | 'sharedexecutable' | 'executable' | 'all';

function categoryOf(osType: string): OsCategory {
  const lower = osType.toLowerCase();
  const aliases: Array<[string, OsCategory]> = [
    ['red hat', 'RedHat'],
    ['rhel', 'RedHat'],
    ['suse', 'SUSE'],
    ['sles', 'SUSE'],
    ['novell', 'Novel'],
    ['freebsd', 'Unix'],
    ['solaris', 'Unix'],
  ];
  for (const category of OS_CATEGORIES) if (lower.startsWith(category.toLowerCase())) return category;
  for (const [prefix, category] of aliases) if (lower.startsWith(prefix)) return category;
  return 'Other';
}

/**
 * Templates and ISOs as records (spec/resource-model.md §7, spec/storage.md §6.2): private by
 * default, `featured` settable by root admins only, format tied to the hypervisor, sharing with
 * named accounts. Downloads to secondary storage and copies to primary storage are the
 * orchestration layer's.
 */
export class TemplateService {
  private readonly settings: SettingsService;

  constructor(private readonly ctx: CloudContext) {
    this.settings = new SettingsService(ctx);
  }

  async get(id: Ref): Promise<Template> {
    id = await templateRepo.resolve(this.ctx.db, id);
    return templateRepo.get(this.ctx.db, id);
  }

  /**
   * Templates (or ISOs, with `isIso`) visible to the caller under `filter` (default executable).
   * System-VM templates show only under `all`.
   */
  async list(
    options: { filter?: TemplateFilter; isIso?: boolean; zoneId?: Ref } & ListOptions = {},
  ): Promise<Template[]> {
    const paging = await listPaging(this.ctx, options);
    const zoneId = await resolveOptionalRef(this.ctx.db, zoneRepo, options.zoneId, 'zoneId');
    const caller = this.ctx.caller;
    const filter = options.filter ?? 'executable';
    if (filter === 'all' && !isRootAdmin(caller))
      throw new PermissionDeniedError('only a root admin may list all templates');
    const all = await templateRepo.list(this.ctx.db, {
      isIso: options.isIso === undefined ? undefined : bit(options.isIso),
    });
    const shared = new Set(
      (
        await this.ctx.db
          .selectFrom('templatePermissions')
          .select('templateId')
          .where('accountId', '=', caller.accountId)
          .execute()
      ).map((r) => Number(r.templateId)),
    );
    const visible = all.filter((t) => {
      if (zoneId !== undefined && !t.crossZones && t.zoneId !== zoneId) return false;
      if (t.templateType === 'SYSTEM' && filter !== 'all') return false;
      const own = t.accountId === caller.accountId;
      switch (filter) {
        case 'self':
          return own;
        case 'featured':
          return t.isFeatured;
        case 'community':
          return t.isPublic && !t.isFeatured;
        case 'sharedexecutable':
          return shared.has(t.id);
        case 'executable':
          return own || t.isPublic || t.isFeatured || shared.has(t.id);
        default:
          return true;
      }
    });
    // Visibility (ownership, sharing, featured/public) is decided per row above, so the page is cut after it.
    return pageArray(visible, paging, (t) => [t.name, t.displayText]);
  }

  /** Registers a template (or, with format ISO, an ISO) by URL; its state starts Active. */
  register(input: RegisterTemplateInput): Promise<Template> {
    return this.ctx.write(async (w) => {
      const name = requireString('name', input.name, { max: 255 });
      const url = requireString('url', input.url);
      if (!/^https?:\/\/[^/\s]+/i.test(url))
        throw new InvalidParameterError('url', url, 'an http:// or https:// URL is required');
      const format = requireOneOf('format', input.format, IMAGE_FORMATS);
      const isIso = format === 'ISO';
      let hypervisorType: HypervisorType | null = null;
      if (!isIso) {
        hypervisorType = requireOneOf('hypervisorType', input.hypervisorType, HYPERVISOR_TYPES);
        if (!FORMATS_BY_HYPERVISOR[hypervisorType].includes(format)) {
          throw new InvalidParameterError(
            'format',
            format,
            `${hypervisorType} templates are ${FORMATS_BY_HYPERVISOR[hypervisorType].join(' or ')}`,
          );
        }
      } else if (input.hypervisorType !== undefined) {
        throw new InvalidParameterError('hypervisorType', input.hypervisorType, 'ISOs are hypervisor-independent');
      }
      if (!isIso && input.bootable !== undefined)
        throw new InvalidParameterError('bootable', input.bootable, 'only ISOs have a bootable flag');
      const crossZones = input.crossZones === true;
      if (crossZones && input.zoneId !== undefined)
        throw new InvalidParameterError('zoneId', input.zoneId, 'a cross-zone template names no zone');
      if (!crossZones && input.zoneId === undefined)
        throw new InvalidParameterError('zoneId', input.zoneId, 'name a zone, or register with crossZones');
      const zoneId = input.zoneId === undefined ? null : (await zoneRepo.get(w.db, input.zoneId, 'zoneId')).id;
      const templateType = requireOneOf('templateType', input.templateType ?? 'USER', TEMPLATE_TYPES);
      if (templateType !== 'USER' && !isRootAdmin(w.caller)) {
        throw new PermissionDeniedError(`only a root admin may register ${templateType} templates`, {
          field: 'templateType',
          value: templateType,
        });
      }
      if (input.isFeatured && !isRootAdmin(w.caller))
        throw new PermissionDeniedError('only a root admin may mark a template featured', {
          field: 'isFeatured',
          value: true,
        });
      const bits = input.bits ?? 64;
      if (bits !== 32 && bits !== 64) throw new InvalidParameterError('bits', bits, 'must be 32 or 64');
      const owner = await accountRepo.get(w.db, input.accountId ?? w.caller.accountId, 'accountId');
      await requireAccess(w.db, w.caller, { accountId: owner.id, domainId: owner.domainId }, 'register a template');
      await checkResourceLimits(w, this.settings, owner.id, { template: 1 });
      const osType = optionalString('osType', input.osType) ?? 'Other';
      const row = await w.db
        .insertInto('templates')
        .values({
          uuid: newUuid(),
          name,
          displayText: optionalString('displayText', input.displayText) ?? name,
          url,
          format,
          hypervisorType,
          osType,
          osCategory:
            input.osCategory === undefined
              ? categoryOf(osType)
              : requireOneOf('osCategory', input.osCategory, OS_CATEGORIES),
          isIso: bit(isIso),
          isPublic: bit(input.isPublic),
          isFeatured: bit(input.isFeatured),
          isExtractable: bit(input.isExtractable),
          passwordEnabled: bit(input.passwordEnabled),
          sshKeyEnabled: bit(input.sshKeyEnabled),
          requiresHvm: bit(input.requiresHvm ?? true),
          bits,
          bootable: bit(isIso && input.bootable !== false),
          crossZones: bit(crossZones),
          zoneId,
          templateType,
          checksum: optionalString('checksum', input.checksum),
          accountId: owner.id,
          domainId: owner.domainId,
          state: TEMPLATE_REGISTERED_INITIAL_STATE,
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const template = templateRepo.decode(row);
      await w.event({
        type: isIso ? 'ISO.CREATE' : 'TEMPLATE.CREATE',
        description: `${isIso ? 'ISO' : 'template'} ${name} registered from ${url}`,
        resourceType: isIso ? 'Iso' : 'Template',
        resourceId: template.id,
        resourceUuid: template.uuid,
        accountId: owner.id,
        domainId: owner.domainId,
      });
      return template;
    });
  }

  async update(
    id: Ref,
    patch: {
      name?: string;
      displayText?: string;
      osType?: string;
      isPublic?: boolean;
      isFeatured?: boolean;
      isExtractable?: boolean;
      passwordEnabled?: boolean;
      sshKeyEnabled?: boolean;
    },
  ): Promise<Template> {
    id = await templateRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const template = await templateRepo.get(w.db, id);
      await requireAccess(w.db, w.caller, template, 'update a template');
      if (patch.isFeatured !== undefined && !isRootAdmin(w.caller))
        throw new PermissionDeniedError('only a root admin may change featured', {
          field: 'isFeatured',
          value: patch.isFeatured,
        });
      const set: Record<string, unknown> = {};
      if (patch.name !== undefined) set.name = requireString('name', patch.name, { max: 255 });
      if (patch.displayText !== undefined)
        set.displayText = requireString('displayText', patch.displayText, { max: 4096 });
      if (patch.osType !== undefined) {
        set.osType = requireString('osType', patch.osType);
        set.osCategory = categoryOf(patch.osType);
      }
      for (const flag of ['isPublic', 'isFeatured', 'isExtractable', 'passwordEnabled', 'sshKeyEnabled'] as const) {
        const value = patch[flag];
        if (value === undefined) continue;
        if (typeof value !== 'boolean') throw new InvalidParameterError(flag, value, 'a boolean is required');
        set[flag] = bit(value);
      }
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('templates').set(set).where('id', '=', id).execute();
        await w.event({
          type: template.isIso ? 'ISO.UPDATE' : 'TEMPLATE.UPDATE',
          description: `${template.name} updated`,
          resourceType: template.isIso ? 'Iso' : 'Template',
          resourceId: id,
          resourceUuid: template.uuid,
          accountId: template.accountId,
          domainId: template.domainId,
          parameters: { changed: Object.keys(set) },
        });
      }
      return templateRepo.get(w.db, id);
    });
  }

  /** Shares a private template with named accounts, or stops sharing it. */
  async updatePermissions(id: Ref, accounts: { add?: Ref[]; remove?: Ref[] }): Promise<number[]> {
    id = await templateRepo.resolve(this.ctx.db, id);
    const change = await resolveRefs(this.ctx.db, accounts, { add: accountRepo, remove: accountRepo });
    return this.ctx.write(async (w) => {
      const template = await templateRepo.get(w.db, id);
      await requireAccess(w.db, w.caller, template, 'share a template');
      for (const accountId of change.add ?? []) {
        await accountRepo.get(w.db, accountId, 'add');
        await w.db
          .insertInto('templatePermissions')
          .values({ templateId: id, accountId })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      if (change.remove && change.remove.length > 0)
        await w.db
          .deleteFrom('templatePermissions')
          .where('templateId', '=', id)
          .where('accountId', 'in', change.remove)
          .execute();
      const rows = await w.db
        .selectFrom('templatePermissions')
        .select('accountId')
        .where('templateId', '=', id)
        .orderBy('accountId')
        .execute();
      await w.event({
        type: 'TEMPLATE.UPDATE',
        description: `sharing of ${template.name} changed`,
        resourceType: 'Template',
        resourceId: id,
        resourceUuid: template.uuid,
        accountId: template.accountId,
        domainId: template.domainId,
        parameters: change,
      });
      return rows.map((r) => Number(r.accountId));
    });
  }

  /** Deletes a template; VMs already deployed from it keep running (their root volumes are copies). */
  async delete(id: Ref): Promise<void> {
    id = await templateRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const template = await templateRepo.get(w.db, id);
      await requireAccess(w.db, w.caller, template, 'delete a template');
      await w.db.deleteFrom('templatePermissions').where('templateId', '=', id).execute();
      await templateRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: template.isIso ? 'ISO.DELETE' : 'TEMPLATE.DELETE',
        description: `${template.name} deleted`,
        resourceType: template.isIso ? 'Iso' : 'Template',
        resourceId: id,
        resourceUuid: template.uuid,
        accountId: template.accountId,
        domainId: template.domainId,
      });
    });
  }
}
