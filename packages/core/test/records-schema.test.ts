/**
 * The records services return (`model/records.ts`) and the tables they are read from
 * (`store/schema.ts`) are kept column by column: every record field is a column of its table with
 * the type the record's type is stored as (a `Date` as epoch milliseconds, a boolean as 0/1, a
 * list or map as JSON text, a union of names as text), and every column is in the record, except
 * the ones listed here with the reason they differ. Checked by the type checker (`npm run
 * typecheck`, part of `npm test`): a column added to one and not the other fails it.
 */
import type { Selectable } from 'kysely';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Account,
  AffinityGroup,
  Cluster,
  DedicatedResource,
  DiskOffering,
  Domain,
  Host,
  HypervisorCapability,
  ImageStore,
  PhysicalNetwork,
  PhysicalNetworkTrafficType,
  Pod,
  ServiceOffering,
  StoragePool,
  Template,
  User,
  VirtualMachine,
  Zone,
} from '../src/model/records.js';
import type { VolumeRecord } from '../src/orchestration/volume-record.js';
import type { Database } from '../src/store/schema.js';

/** The column type a record field's type is stored as. */
type Stored<V> = V extends null
  ? null
  : V extends Date
    ? number
    : V extends boolean
      ? number
      : V extends string
        ? string
        : V extends number
          ? number
          : V extends object
            ? string
            : V;

type Fits<A, B> = [A] extends [B] ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * The disagreements between record `R` and table `T` (never when they agree), as readable strings:
 * `<field>: not a column`, `<column>: not in the record`, `<name>: type`. `Omitted` are columns the
 * record leaves out, `Extra` fields the record adds, `Narrowed` fields whose record type is narrower
 * than their column's (a value the record holds fits the column, not every stored value need be one
 * the record allows); each named with its reason at the call.
 */
type Disagreements<
  R,
  T extends keyof Database,
  Omitted extends string = never,
  Extra extends string = never,
  Narrowed extends string = never,
> = {
  [K in Exclude<keyof R | keyof Selectable<Database[T]>, Omitted | Extra> & string]: K extends keyof R
    ? K extends keyof Selectable<Database[T]>
      ? (
          K extends Narrowed
            ? Fits<Stored<R[K]>, Selectable<Database[T]>[K]>
            : Same<Stored<R[K]>, Selectable<Database[T]>[K]>
        ) extends true
        ? never
        : `${K}: type`
      : `${K}: not a column`
    : `${K}: not in the record`;
}[Exclude<keyof R | keyof Selectable<Database[T]>, Omitted | Extra> & string];

describe('model/records.ts and store/schema.ts agree column by column', () => {
  it('tenancy', () => {
    expectTypeOf<Disagreements<Domain, 'domains'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<Account, 'accounts'>>().toEqualTypeOf<never>();
    // The password hash and the secret key are never returned.
    expectTypeOf<Disagreements<User, 'users', 'passwordHash' | 'secretKey'>>().toEqualTypeOf<never>();
  });
  it('infrastructure', () => {
    expectTypeOf<Disagreements<Zone, 'zones'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<Pod, 'pods'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<Cluster, 'clusters'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<Host, 'hosts'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<StoragePool, 'storagePools'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<ImageStore, 'imageStores'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<PhysicalNetwork, 'physicalNetworks'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<PhysicalNetworkTrafficType, 'physicalNetworkTrafficTypes'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<HypervisorCapability, 'hypervisorCapabilities'>>().toEqualTypeOf<never>();
    // `level` is derived from which of zone, pod, cluster and host is set; a dedication always has its zone.
    expectTypeOf<
      Disagreements<DedicatedResource, 'dedicatedResources', never, 'level', 'zoneId'>
    >().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<AffinityGroup, 'affinityGroups'>>().toEqualTypeOf<never>();
  });
  it('offerings and templates', () => {
    expectTypeOf<Disagreements<ServiceOffering, 'serviceOfferings'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<DiskOffering, 'diskOfferings'>>().toEqualTypeOf<never>();
    expectTypeOf<Disagreements<Template, 'templates'>>().toEqualTypeOf<never>();
  });
  it('VMs and volumes', () => {
    expectTypeOf<Disagreements<VirtualMachine, 'vmInstances'>>().toEqualTypeOf<never>();
    // The storage layer's record of a volume is `VolumeRecord` (`Volume` and three columns storage adds).
    expectTypeOf<Disagreements<VolumeRecord, 'volumes'>>().toEqualTypeOf<never>();
  });
  it('names each disagreement (the check can fail)', () => {
    expectTypeOf<Disagreements<Domain & { extra: string }, 'domains'>>().toEqualTypeOf<'extra: not a column'>();
    expectTypeOf<Disagreements<Omit<Domain, 'path'>, 'domains'>>().toEqualTypeOf<'path: not in the record'>();
    expectTypeOf<Disagreements<Omit<Domain, 'level'> & { level: string }, 'domains'>>().toEqualTypeOf<'level: type'>();
    expectTypeOf<
      Disagreements<Omit<Domain, 'created'> & { created: Date | null }, 'domains'>
    >().toEqualTypeOf<'created: type'>();
  });
});
