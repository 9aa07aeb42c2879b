import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError } from '../errors.js';
import {
  IMPLICIT_DEDICATION_MODES,
  type ImplicitDedicationModeName,
  STORAGE_TYPES,
  type StorageType,
  SYSTEM_VM_TYPES,
  type SystemVmType,
} from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { DiskOffering, ServiceOffering, ServiceOfferingDetails } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { GiB } from '../model/units.js';
import { optionalString, parseTags, requireInteger, requireOneOf, requireString } from '../model/validate.js';
import { bit, decoder, json } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { requireRootAdmin } from './permissions.js';
import { countLive, Repo } from './repo.js';
import { domainRepo } from './tenancy.js';

export const serviceOfferingRepo = new Repo<ServiceOffering>(
  'serviceOfferings',
  'ServiceOffering',
  decoder<ServiceOffering>({ bool: ['offerHa', 'limitCpuUse', 'isSystem'], json: ['tags', 'details'] }),
  ['name', 'displayText'],
);

/** The host tags an offering requires, every one on the host (spec/allocation.md §8). */
export function offeringHostTags(offering: Pick<ServiceOffering, 'hostTag'>): string[] {
  if (offering.hostTag === null || offering.hostTag === '') return [];
  const out: string[] = [];
  for (const part of offering.hostTag.split(',')) {
    const tag = part.trim();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}

/** The implicit-dedication mode an offering deploys its VMs in, or null (spec/allocation.md §5.5). */
export function offeringImplicitDedication(
  offering: Pick<ServiceOffering, 'details'>,
): ImplicitDedicationModeName | null {
  const mode = offering.details?.ImplicitDedicationMode;
  return mode === 'Strict' || mode === 'Preferred' ? mode : null;
}

const DETAIL_KEYS = ['ImplicitDedicationMode'] as const;

/** Validates offering details: known keys only, each with a value it allows. */
function parseOfferingDetails(details: unknown): ServiceOfferingDetails {
  if (details === undefined || details === null) return {};
  if (typeof details !== 'object' || Array.isArray(details))
    throw new InvalidParameterError('details', details, 'an object of detail name → value is required');
  const out: ServiceOfferingDetails = {};
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined) continue;
    if (!(DETAIL_KEYS as readonly string[]).includes(key))
      throw new InvalidParameterError(
        `details.${key}`,
        value,
        `unknown offering detail; known: ${DETAIL_KEYS.join(', ')}`,
      );
    out.ImplicitDedicationMode = requireOneOf(`details.${key}`, value, IMPLICIT_DEDICATION_MODES);
  }
  return out;
}
export const diskOfferingRepo = new Repo<DiskOffering>(
  'diskOfferings',
  'DiskOffering',
  decoder<DiskOffering>({ bool: ['customized'], json: ['tags'] }),
  ['name', 'displayText'],
);

/** A service offering to create: CPUs, speed, memory, host tags, storage type and details. */
export interface CreateServiceOfferingInput {
  name: string;
  displayText?: string;
  /** Cores, ≥ 1. */
  cpuNumber: number;
  /** MHz per core. */
  cpuSpeed: number;
  /** MiB. */
  memory: number;
  storageType?: StorageType;
  offerHa?: boolean;
  limitCpuUse?: boolean;
  /** Mbps; omitted = `vm.network.throttling.rate`. */
  networkRate?: number;
  /** Storage tags the root-disk pool must carry. */
  tags?: string | string[];
  /**
   * Host tags, comma-separated (`'gpu,fast'`) or as a list: every one must be on the host
   * (spec/allocation.md §8). Trimmed, case-sensitive, stored comma-joined in `hostTag`.
   */
  hostTag?: string | string[];
  /**
   * CloudStack's offering details. Only `ImplicitDedicationMode` (`Strict` or `Preferred`) is
   * known: it deploys the offering's VMs implicitly dedicated in that mode (spec/allocation.md §5.5).
   */
  details?: ServiceOfferingDetails;
  /** Visible only to this domain's subtree; omitted = public. */
  domainId?: Ref;
  systemVmType?: SystemVmType;
}

/** A disk offering to create: a fixed or custom size, tags and storage type. */
export interface CreateDiskOfferingInput {
  name: string;
  displayText?: string;
  /** GB; omit with `customized: true` to let the user choose the size. */
  diskSizeGb?: number;
  customized?: boolean;
  tags?: string | string[];
  storageType?: StorageType;
  domainId?: Ref;
}

/** Only the name and display text of an offering can change (spec/resource-model.md §6.1). */
const MUTABLE = new Set(['name', 'displayText']);

/**
 * Compute and disk offerings (spec/resource-model.md §6.1–6.2). Offerings are immutable but for
 * their name and display text; "editing" CPU or memory means a new offering. Deleting an offering
 * still used by a VM or volume hides it (Inactive) instead of removing it.
 */
export class OfferingService {
  constructor(private readonly ctx: CloudContext) {}

  async getServiceOffering(id: Ref): Promise<ServiceOffering> {
    id = await serviceOfferingRepo.resolve(this.ctx.db, id);
    return serviceOfferingRepo.get(this.ctx.db, id);
  }

  listServiceOfferings(
    filter: { isSystem?: boolean; state?: 'Active' | 'Inactive' } & ListOptions = {},
  ): Promise<ServiceOffering[]> {
    return serviceOfferingRepo.listFor(this.ctx, {
      ...filter,
      state: filter.state ?? 'Active',
      isSystem: filter.isSystem === undefined ? undefined : bit(filter.isSystem),
    });
  }

  createServiceOffering(input: CreateServiceOfferingInput): Promise<ServiceOffering> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a service offering');
      const name = requireString('name', input.name, { max: 255 });
      const domainId =
        input.domainId === undefined ? null : (await domainRepo.get(w.db, input.domainId, 'domainId')).id;
      const systemVmType =
        input.systemVmType === undefined ? null : requireOneOf('systemVmType', input.systemVmType, SYSTEM_VM_TYPES);
      const row = await w.db
        .insertInto('serviceOfferings')
        .values({
          uuid: newUuid(),
          name,
          displayText: optionalString('displayText', input.displayText) ?? name,
          cpuNumber: requireInteger('cpuNumber', input.cpuNumber, { min: 1, max: 1024 }),
          cpuSpeed: requireInteger('cpuSpeed', input.cpuSpeed, { min: 1, max: 1_000_000 }),
          memory: requireInteger('memory', input.memory, { min: 32, max: 64 * 1024 * 1024 }),
          storageType: requireOneOf('storageType', input.storageType ?? 'shared', STORAGE_TYPES),
          offerHa: bit(input.offerHa),
          limitCpuUse: bit(input.limitCpuUse),
          networkRate:
            input.networkRate === undefined ? null : requireInteger('networkRate', input.networkRate, { min: 0 }),
          tags: json(parseTags('tags', input.tags)),
          hostTag: parseTags('hostTag', input.hostTag).join(',') || null,
          details: json(parseOfferingDetails(input.details)),
          domainId,
          isSystem: bit(systemVmType !== null),
          systemVmType,
          state: 'Active',
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const offering = serviceOfferingRepo.decode(row);
      await w.event({
        type: 'SERVICE.OFFERING.CREATE',
        description: `service offering ${name} (${offering.cpuNumber}×${offering.cpuSpeed} MHz, ${offering.memory} MiB) created`,
        resourceType: 'ServiceOffering',
        resourceId: offering.id,
        resourceUuid: offering.uuid,
      });
      return offering;
    });
  }

  async updateServiceOffering(id: Ref, patch: Partial<CreateServiceOfferingInput>): Promise<ServiceOffering> {
    id = await serviceOfferingRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a service offering');
      const offering = await serviceOfferingRepo.get(w.db, id);
      const set = this.renames(patch);
      await w.db.updateTable('serviceOfferings').set(set).where('id', '=', id).execute();
      await w.event({
        type: 'SERVICE.OFFERING.EDIT',
        description: `service offering ${offering.name} updated`,
        resourceType: 'ServiceOffering',
        resourceId: id,
        resourceUuid: offering.uuid,
        parameters: set,
      });
      return serviceOfferingRepo.get(w.db, id);
    });
  }

  /** Removed when unused; hidden from new deployments (Inactive) while a VM still uses it. */
  async deleteServiceOffering(id: Ref): Promise<void> {
    id = await serviceOfferingRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a service offering');
      const offering = await serviceOfferingRepo.get(w.db, id);
      const users = await countLive(w.db, 'vmInstances', { serviceOfferingId: id });
      await this.retire(w, 'serviceOfferings', id, users);
      await w.event({
        type: 'SERVICE.OFFERING.DELETE',
        description: `service offering ${offering.name} ${users > 0 ? `hidden (${users} VM(s) still use it)` : 'deleted'}`,
        resourceType: 'ServiceOffering',
        resourceId: id,
        resourceUuid: offering.uuid,
      });
    });
  }

  async getDiskOffering(id: Ref): Promise<DiskOffering> {
    id = await diskOfferingRepo.resolve(this.ctx.db, id);
    return diskOfferingRepo.get(this.ctx.db, id);
  }

  listDiskOfferings(filter: { state?: 'Active' | 'Inactive' } & ListOptions = {}): Promise<DiskOffering[]> {
    return diskOfferingRepo.listFor(this.ctx, { ...filter, state: filter.state ?? 'Active' });
  }

  createDiskOffering(input: CreateDiskOfferingInput): Promise<DiskOffering> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a disk offering');
      const name = requireString('name', input.name, { max: 255 });
      const customized = input.customized === true;
      if (customized && input.diskSizeGb !== undefined)
        throw new InvalidParameterError(
          'diskSizeGb',
          input.diskSizeGb,
          'a customized offering leaves the size to the user',
        );
      if (!customized && input.diskSizeGb === undefined)
        throw new InvalidParameterError(
          'diskSizeGb',
          input.diskSizeGb,
          'a size is required unless the offering is customized',
        );
      const domainId =
        input.domainId === undefined ? null : (await domainRepo.get(w.db, input.domainId, 'domainId')).id;
      const row = await w.db
        .insertInto('diskOfferings')
        .values({
          uuid: newUuid(),
          name,
          displayText: optionalString('displayText', input.displayText) ?? name,
          diskSize: customized
            ? null
            : requireInteger('diskSizeGb', input.diskSizeGb, { min: 1, max: 1_048_576 }) * GiB,
          customized: bit(customized),
          tags: json(parseTags('tags', input.tags)),
          storageType: requireOneOf('storageType', input.storageType ?? 'shared', STORAGE_TYPES),
          domainId,
          state: 'Active',
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const offering = diskOfferingRepo.decode(row);
      await w.event({
        type: 'DISK.OFFERING.CREATE',
        description: `disk offering ${name} created`,
        resourceType: 'DiskOffering',
        resourceId: offering.id,
        resourceUuid: offering.uuid,
      });
      return offering;
    });
  }

  async updateDiskOffering(id: Ref, patch: Partial<CreateDiskOfferingInput>): Promise<DiskOffering> {
    id = await diskOfferingRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a disk offering');
      const offering = await diskOfferingRepo.get(w.db, id);
      const set = this.renames(patch);
      await w.db.updateTable('diskOfferings').set(set).where('id', '=', id).execute();
      await w.event({
        type: 'DISK.OFFERING.EDIT',
        description: `disk offering ${offering.name} updated`,
        resourceType: 'DiskOffering',
        resourceId: id,
        resourceUuid: offering.uuid,
        parameters: set,
      });
      return diskOfferingRepo.get(w.db, id);
    });
  }

  async deleteDiskOffering(id: Ref): Promise<void> {
    id = await diskOfferingRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a disk offering');
      const offering = await diskOfferingRepo.get(w.db, id);
      const users = await countLive(w.db, 'volumes', { diskOfferingId: id });
      await this.retire(w, 'diskOfferings', id, users);
      await w.event({
        type: 'DISK.OFFERING.DELETE',
        description: `disk offering ${offering.name} ${users > 0 ? `hidden (${users} volume(s) still use it)` : 'deleted'}`,
        resourceType: 'DiskOffering',
        resourceId: id,
        resourceUuid: offering.uuid,
      });
    });
  }

  /** The only changes an offering takes: name and display text; anything else is refused. */
  private renames(patch: object): { name?: string; displayText?: string } {
    const set: { name?: string; displayText?: string } = {};
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      if (!MUTABLE.has(field)) {
        throw new InvalidParameterError(
          field,
          value,
          'offerings are immutable except for name and displayText; create a new offering instead',
        );
      }
      set[field as 'name' | 'displayText'] = requireString(field, value, { max: 255 });
    }
    return set;
  }

  private async retire(
    w: Writer,
    table: 'serviceOfferings' | 'diskOfferings',
    id: number,
    users: number,
  ): Promise<void> {
    await w.db
      .updateTable(table)
      .set(users > 0 ? { state: 'Inactive' } : { state: 'Inactive', removed: w.now })
      .where('id', '=', id)
      .execute();
  }
}
