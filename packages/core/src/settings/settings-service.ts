import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError } from '../errors.js';
import { requireRootAdmin } from '../resources/permissions.js';
import type { Db } from '../store/store.js';
import {
  canonicalSettingKey,
  isScopeAllowed,
  parseSettingValue,
  SETTING_KEYS,
  type SettingKey,
  type SettingScope,
  type SettingValue,
  type SettingValueType,
  settingDefinition,
} from './catalog.js';
import { type ConfigurationRows, configurationCache, configurationKey } from './configuration-cache.js';

/** Where a setting is read or written. Omit everything for the global value. */
export interface SettingTarget {
  zoneId?: number;
  clusterId?: number;
  storagePoolId?: number;
  domainId?: number;
  accountId?: number;
}

/**
 * Cluster-scoped keys whose per-cluster value is a column of the cluster itself (copied from the
 * global value when the cluster is created), so the cluster record and the setting never disagree.
 */
const CLUSTER_COLUMNS: Partial<Record<SettingKey, 'cpuOvercommitRatio' | 'memoryOvercommitRatio'>> = {
  'cpu.overprovisioning.factor': 'cpuOvercommitRatio',
  'mem.overprovisioning.factor': 'memoryOvercommitRatio',
};

const SCOPE_ORDER: ReadonlyArray<{ scope: Exclude<SettingScope, 'global'>; field: keyof SettingTarget }> = [
  { scope: 'account', field: 'accountId' },
  { scope: 'domain', field: 'domainId' },
  { scope: 'storagepool', field: 'storagePoolId' },
  { scope: 'cluster', field: 'clusterId' },
  { scope: 'zone', field: 'zoneId' },
];

/**
 * Global settings with CloudStack's scopes. A read resolves from the narrowest scope the key
 * allows to the widest: account → domain (the account's) → storage pool → cluster → zone (the
 * cluster's or pool's) → global → the catalog default.
 */
export class SettingsService {
  constructor(private readonly ctx: CloudContext) {}

  /** The effective value of `key` for `target`. */
  async get<K extends SettingKey>(key: K, target: SettingTarget = {}, db: Db = this.ctx.db): Promise<SettingValue<K>> {
    const canonical = canonicalSettingKey(key) as K;
    // Most reads wait for nothing: the configuration is kept, and the target names its wider scopes.
    if (isExpanded(target)) {
      const rows = configurationCache(this.ctx.store).kept(db);
      const resolved = rows === undefined ? undefined : resolveSetting(rows, canonical, target);
      if (resolved !== undefined) return resolved.value;
    }
    return this.read(canonical, target, db);
  }

  /** {@link get} with the queries it may need: the target's wider scopes, the configuration, a cluster's own column. */
  private async read<K extends SettingKey>(canonical: K, target: SettingTarget, db: Db): Promise<SettingValue<K>> {
    const scoped = await this.expand(db, target);
    const rows = await configurationCache(this.ctx.store).all(db);
    const resolved = resolveSetting(rows, canonical, scoped);
    if (resolved !== undefined) return resolved.value;
    // The key's cluster-scope value is a column of the cluster.
    const column = CLUSTER_COLUMNS[canonical]!;
    const row = (await db
      .selectFrom('clusters')
      .select(column)
      .where('id', '=', scoped.clusterId!)
      .executeTakeFirst()) as Record<string, number> | undefined;
    if (row) return Number(row[column]) as SettingValue<K>;
    return resolveSetting(rows, canonical, { ...scoped, clusterId: undefined })!.value;
  }

  /** Sets `key` at the scope `target` names (one of its fields, or none for global). */
  set<K extends SettingKey>(
    key: K,
    value: SettingValue<K> | string,
    target: SettingTarget = {},
  ): Promise<SettingValue<K>> {
    return this.ctx.write((w) => this.setIn(w, key, value, target));
  }

  /** {@link set} inside the caller's transaction. */
  async setIn<K extends SettingKey>(
    w: Writer,
    key: K,
    value: SettingValue<K> | string,
    target: SettingTarget = {},
  ): Promise<SettingValue<K>> {
    requireRootAdmin(w.caller, 'change settings');
    const canonical = canonicalSettingKey(key) as K;
    const { scope, scopeId } = this.scopeOf(canonical, target);
    const parsed = parseSettingValue(canonical, value);
    configurationCache(this.ctx.store).changed(w);
    const column = scope === 'cluster' ? CLUSTER_COLUMNS[canonical] : undefined;
    if (column) {
      const result = await w.db
        .updateTable('clusters')
        .set({ [column]: parsed as number })
        .where('id', '=', scopeId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new InvalidParameterError('clusterId', scopeId, 'no such cluster');
    } else {
      await w.db
        .insertInto('configuration')
        .values({ name: canonical, scope, scopeId, value: serialise(parsed), updated: w.now })
        .onConflict((oc) =>
          oc.columns(['name', 'scope', 'scopeId']).doUpdateSet({ value: serialise(parsed), updated: w.now }),
        )
        .execute();
    }
    await w.event({
      type: 'CONFIGURATION.VALUE.EDIT',
      description: `${canonical} = ${serialise(parsed)} at ${scope}${scope === 'global' ? '' : ` ${scopeId}`}`,
      resourceType: 'Configuration',
      parameters: { key: canonical, scope, scopeId, value: parsed },
    });
    return parsed;
  }

  /** Removes a scoped or global override; reads fall back to the next scope or the default. */
  reset(key: SettingKey, target: SettingTarget = {}): Promise<void> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'change settings');
      const canonical = canonicalSettingKey(key);
      const { scope, scopeId } = this.scopeOf(canonical, target);
      configurationCache(this.ctx.store).changed(w);
      if (scope === 'cluster' && CLUSTER_COLUMNS[canonical]) {
        const global = await this.get(canonical, {}, w.db);
        await w.db
          .updateTable('clusters')
          .set({ [CLUSTER_COLUMNS[canonical]!]: global as number })
          .where('id', '=', scopeId)
          .execute();
      } else {
        await w.db
          .deleteFrom('configuration')
          .where('name', '=', canonical)
          .where('scope', '=', scope)
          .where('scopeId', '=', scopeId)
          .execute();
      }
      await w.event({
        type: 'CONFIGURATION.VALUE.EDIT',
        description: `${canonical} reset at ${scope}`,
        resourceType: 'Configuration',
        parameters: { key: canonical, scope, scopeId, reset: true },
      });
    });
  }

  /** Every key with its effective value for `target`. */
  async list(target: SettingTarget = {}): Promise<Array<{ key: SettingKey; value: SettingValueType }>> {
    const out: Array<{ key: SettingKey; value: SettingValueType }> = [];
    for (const key of SETTING_KEYS) {
      if (settingDefinition(key).deprecatedAliasOf) continue;
      out.push({ key, value: await this.get(key, target) });
    }
    return out;
  }

  private scopeOf(key: SettingKey, target: SettingTarget): { scope: SettingScope; scopeId: number } {
    const given = SCOPE_ORDER.filter(({ field }) => target[field] !== undefined);
    if (given.length > 1) throw new InvalidParameterError('target', target, 'name exactly one scope to set a value at');
    if (given.length === 0) return { scope: 'global', scopeId: 0 };
    const { scope, field } = given[0]!;
    if (!isScopeAllowed(key, scope)) {
      throw new InvalidParameterError(
        field,
        target[field],
        `${key} cannot be set at ${scope} scope (allowed: ${settingDefinition(key).scopes.join(', ')})`,
      );
    }
    return { scope, scopeId: target[field]! };
  }

  /** Fills in the wider scopes implied by a narrow one (a cluster's zone, an account's domain). */
  private async expand(db: Db, target: SettingTarget): Promise<SettingTarget> {
    const out = { ...target };
    if (out.accountId !== undefined && out.domainId === undefined) {
      const row = await db.selectFrom('accounts').select('domainId').where('id', '=', out.accountId).executeTakeFirst();
      if (row) out.domainId = Number(row.domainId);
    }
    if (out.storagePoolId !== undefined && (out.zoneId === undefined || out.clusterId === undefined)) {
      const row = await db
        .selectFrom('storagePools')
        .select(['zoneId', 'clusterId'])
        .where('id', '=', out.storagePoolId)
        .executeTakeFirst();
      if (row) {
        out.zoneId ??= Number(row.zoneId);
        if (row.clusterId !== null) out.clusterId ??= Number(row.clusterId);
      }
    }
    if (out.clusterId !== undefined && out.zoneId === undefined) {
      const row = await db.selectFrom('clusters').select('zoneId').where('id', '=', out.clusterId).executeTakeFirst();
      if (row) out.zoneId = Number(row.zoneId);
    }
    return out;
  }
}

/** Whether `target` already names the wider scopes its narrow ones imply (nothing to read). */
function isExpanded(target: SettingTarget): boolean {
  return (
    (target.accountId === undefined || target.domainId !== undefined) &&
    (target.storagePoolId === undefined || (target.zoneId !== undefined && target.clusterId !== undefined)) &&
    (target.clusterId === undefined || target.zoneId !== undefined)
  );
}

/**
 * The value {@link SettingsService.get} returns for `key` and a target that names its wider
 * scopes (a pool's cluster and zone, a cluster's zone, an account's domain), from the stored
 * values `rows`: the narrowest allowed scope with a stored value, then global, then the catalog
 * default. Undefined when the target's cluster holds the key's value in a column of its own
 * (overcommit ratios), which `rows` do not have.
 */
export function resolveSetting<K extends SettingKey>(
  rows: ConfigurationRows,
  key: K,
  target: SettingTarget,
): { value: SettingValue<K> } | undefined {
  const canonical = canonicalSettingKey(key) as K;
  for (const { scope, field } of SCOPE_ORDER) {
    const scopeId = target[field];
    if (scopeId === undefined || !isScopeAllowed(canonical, scope)) continue;
    if (scope === 'cluster' && CLUSTER_COLUMNS[canonical] !== undefined) return undefined;
    const value = rows.get(configurationKey(canonical, scope, scopeId));
    if (value !== undefined) return { value: parseSettingValue(canonical, value) };
  }
  const global = rows.get(configurationKey(canonical, 'global', 0));
  return {
    value:
      global !== undefined
        ? parseSettingValue(canonical, global)
        : (settingDefinition(canonical).default as SettingValue<K>),
  };
}

function serialise(value: SettingValueType): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
