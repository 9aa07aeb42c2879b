import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidParameterError } from '../src/errors.js';
import {
  canonicalSettingKey,
  isScopeAllowed,
  isSettingKey,
  parseSettingValue,
  SETTING_KEYS,
  SETTING_SCOPES,
  SETTINGS,
  type SettingDefinition,
  type SettingKey,
  type SettingValue,
  settingDefinition,
} from '../src/settings/catalog.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function expectInvalid(key: string, raw: unknown): void {
  const err = caught(() => parseSettingValue(key, raw));
  expect(err).toBeInstanceOf(InvalidParameterError);
  expect((err as InvalidParameterError).field).toBe(key);
  expect((err as InvalidParameterError).code).toBe('INVALID_PARAMETER');
  expect((err as InvalidParameterError).httpCode).toBe(431);
}

const all = Object.values(SETTINGS) as SettingDefinition[];

describe('settings catalog: structure', () => {
  it('is keyed by each definition key, with no duplicates', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(new Set(SETTING_KEYS).size).toBe(SETTING_KEYS.length);
    expect(Object.keys(SETTINGS)).toEqual([...SETTING_KEYS]);
    for (const [key, def] of Object.entries(SETTINGS)) expect(def.key).toBe(key);
  });

  it('every definition is complete and well-formed', () => {
    for (const def of all) {
      expect(def.key).toMatch(/^[a-z0-9]+(\.[a-zA-Z0-9_]+)+$/);
      expect(def.scopes).toContain('global');
      for (const scope of def.scopes) expect(SETTING_SCOPES).toContain(scope);
      expect(def.category.length).toBeGreaterThan(0);
      expect(def.description.length).toBeGreaterThan(0);
      expect(def.source).toMatch(/\.md §/);
      if (def.min !== undefined && def.max !== undefined) expect(def.min).toBeLessThanOrEqual(def.max);
      if (def.allowed !== undefined) expect(def.allowed).toContain(def.default);
    }
  });

  it('every default passes its own parser unchanged', () => {
    for (const def of all) {
      expect(parseSettingValue(def.key, def.default), def.key).toEqual(def.default);
    }
  });

  it('every default also round-trips through its string form (as a store would hold it)', () => {
    for (const def of all) {
      const text = Array.isArray(def.default) ? def.default.join(',') : String(def.default);
      expect(parseSettingValue(def.key, text), def.key).toEqual(def.default);
    }
  });

  it('aliases point at existing, non-alias keys of the same type', () => {
    const aliases = all.filter((d) => d.deprecatedAliasOf !== undefined);
    expect(aliases.map((d) => d.key).sort()).toEqual(
      [
        'cpu.capacity.threshold',
        'max.volume.size.gb',
        'memory.capacity.threshold',
        'private.ip.capacity.threshold',
        'public.ip.capacity.threshold',
        'remote.access.vpn.client.ip.range',
        'storage.allocated.capacity.threshold',
        'storage.capacity.threshold',
        'system.vm.local.storage.required',
      ].sort(),
    );
    for (const alias of aliases) {
      const target = settingDefinition(alias.deprecatedAliasOf as string);
      expect(target.deprecatedAliasOf).toBeUndefined();
      expect(target.type).toBe(alias.type);
      expect(canonicalSettingKey(alias.key)).toBe(target.key);
    }
    expect(canonicalSettingKey('system.vm.use.local.storage')).toBe('system.vm.use.local.storage');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(SETTINGS)).toBe(true);
    expect(Object.isFrozen(SETTINGS['cpu.overprovisioning.factor'])).toBe(true);
    expect(Object.isFrozen(SETTINGS['implicit.host.tags'].default)).toBe(true);
  });
});

describe('settings catalog: defaults transcribed from the spec', () => {
  // [key, default, scopes] as the domain spec gives them (file and section in the comment).
  const cases: Array<[SettingKey, unknown, (readonly string[])?]> = [
    // allocation.md §2.5, §14 pitfall 1: seconds despite the name
    ['capacity.skipcounting.hours', 3600],
    // allocation.md §12
    ['cpu.overprovisioning.factor', 1, ['global', 'cluster']],
    ['mem.overprovisioning.factor', 1, ['global', 'cluster']],
    ['storage.overprovisioning.factor', 2, ['global', 'storagepool']],
    ['vm.deployment.planner', 'FirstFitPlanner', ['global']],
    ['vm.allocation.algorithm', 'random', ['global']],
    ['volume.allocation.algorithm', 'random'],
    ['host.allocators.order', ['FirstFitRouting']],
    [
      'storage.pool.allocators.order',
      ['LocalStorage', 'ClusterScopeStoragePoolAllocator', 'ZoneWideStoragePoolAllocator'],
    ],
    ['host.capacityType.to.order.clusters', 'CPU'],
    ['host.capacityType.to.order.clusters.cputomemoryweight', 0.5],
    ['apply.allocation.algorithm.to.pods', false],
    ['vm.user.dispersion.weight', 1],
    ['implicit.host.tags', ['GPU']],
    ['start.retry', 10],
    ['xenserver.check.hvm', true],
    ['allow.router.on.disabled.resources', false],
    ['allow.admin.vm.on.disabled.resources', false],
    ['system.vm.use.local.storage', false, ['global', 'zone']],
    ['extra.bytes.per.volume', 50 * 1024 * 1024],
    ['host.reservation.release.period', 300000],
    // allocation.md §3
    ['cluster.cpu.allocated.capacity.disablethreshold', 0.85, ['global', 'cluster']],
    ['cluster.memory.allocated.capacity.disablethreshold', 0.85, ['global', 'cluster']],
    ['cluster.threshold.enabled', true, ['global']],
    ['pool.storage.capacity.disablethreshold', 0.85, ['global', 'zone', 'storagepool']],
    ['pool.storage.allocated.capacity.disablethreshold', 0.85, ['global', 'zone']],
    ['cluster.cpu.allocated.capacity.notificationthreshold', 0.75, ['global', 'cluster']],
    ['zone.vlan.capacity.notificationthreshold', 0.75, ['global', 'zone']],
    ['zone.secstorage.capacity.notificationthreshold', 0.75, ['global', 'zone']],
    ['capacity.check.period', 300000],
    ['cpu.capacity.threshold', 0.85],
    // networking.md §14
    ['network.gc.wait', 600],
    ['network.gc.interval', 600],
    ['network.lock.timeout', 600],
    ['vpc.max.networks', 3],
    ['vpc.cleanup.interval', 3600],
    ['guest.domain.suffix', 'cloud.internal'],
    ['network.guest.cidr.limit', 22],
    ['control.cidr', '169.254.0.0/16'],
    ['control.gateway', '169.254.0.1'],
    ['mac.address.prefix', '06'],
    ['use.system.public.ips', true, ['global', 'account']],
    ['use.system.guest.vlans', true, ['global', 'account']],
    ['public.ip.address.quarantine.duration', 0],
    ['network.throttling.rate', 200],
    ['vm.network.throttling.rate', 200],
    ['remote.access.vpn.client.iprange', '10.1.2.1-10.1.2.8'],
    ['remote.access.vpn.psk.length', 24],
    ['remote.access.vpn.user.limit', 8],
    ['site2site.vpn.vpngateway.connection.limit', 4],
    ['site2site.vpn.customergateway.subnets.limit', 10],
    ['external.firewall.default.capacity', 50],
    ['external.lb.default.capacity', 50],
    ['network.loadbalancer.basiczone.elb.gc.interval.minutes', 30],
    ['vmware.ports.per.dvportgroup', 256],
    // storage.md §9
    ['expunge.delay', 86400],
    ['expunge.interval', 86400],
    ['storage.cleanup.delay', 86400],
    ['storage.max.volume.size', 2000],
    ['max.template.iso.size', 50],
    ['snapshot.max.hourly', 8],
    ['snapshot.delta.max', 16],
    ['backup.snapshot.wait', 21600],
    ['secstorage.allowed.internal.sites', []],
    // operations.md
    ['ha.workers', 5],
    ['restart.retry.interval', 600],
    ['max.retries', 5],
    ['alert.wait', 1800],
    ['alert.smtp.port', 465],
    ['event.purge.delay', 15],
    ['consoleproxy.loadscan.interval', 10000],
    ['consoleproxy.session.max', 50],
    ['usage.stats.job.exec.time', '00:15'],
    ['usage.stats.job.aggregation.range', 1440],
    ['usage.aggregation.timezone', 'GMT'],
    ['job.cancel.threshold.minutes', 60],
    ['job.expire.minutes', 1440],
    ['default.page.size', 500],
    ['max.account.user.vms', 20],
    ['max.account.public.ips', 20],
    ['max.account.cpus', 40],
    ['max.account.memory', 40960],
    ['max.account.primary.storage', 200],
    ['max.account.secondary.storage', 400],
    ['maintenance.cancel.migrate.back', true],
    // resource-model.md
    ['ping.interval', 60],
    ['ping.timeout', 2.5],
    ['instance.name', 'VM'],
  ];

  it.each(cases)('%s defaults to %j', (key, value, scopes) => {
    const def = settingDefinition(key);
    expect(def.default).toEqual(value);
    if (scopes !== undefined) expect(def.scopes).toEqual(scopes);
  });

  it('has at least 25 spec checks', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it('capacity.skipcounting.hours is in seconds', () => {
    expect(SETTINGS['capacity.skipcounting.hours'].unit).toBe('seconds');
  });

  it('vm.allocation.algorithm allows exactly the CloudStack orderings', () => {
    expect([...(SETTINGS['vm.allocation.algorithm'].allowed ?? [])].sort()).toEqual(
      [
        'firstfit',
        'firstfitleastconsumed',
        'random',
        'userconcentratedpod_firstfit',
        'userconcentratedpod_random',
        'userdispersing',
      ].sort(),
    );
    expect(parseSettingValue('vm.allocation.algorithm', 'firstfitleastconsumed')).toBe('firstfitleastconsumed');
    expectInvalid('vm.allocation.algorithm', 'roundrobin');
    expectInvalid('vm.allocation.algorithm', 'Random');
  });

  it('max.project.* mirror max.account.*', () => {
    const accountKeys = SETTING_KEYS.filter((k) => k.startsWith('max.account.'));
    expect(accountKeys).toHaveLength(11);
    for (const key of accountKeys) {
      const projectKey = key.replace('max.account.', 'max.project.');
      expect(isSettingKey(projectKey), projectKey).toBe(true);
      expect(settingDefinition(projectKey).default).toBe(settingDefinition(key).default);
    }
  });
});

describe('parseSettingValue', () => {
  it('coerces numbers from strings and keeps numbers', () => {
    expect(parseSettingValue('cpu.overprovisioning.factor', '1.5')).toBe(1.5);
    expect(parseSettingValue('cpu.overprovisioning.factor', ' 2 ')).toBe(2);
    expect(parseSettingValue('cpu.overprovisioning.factor', 3)).toBe(3);
    expect(parseSettingValue('start.retry', '7')).toBe(7);
    expect(parseSettingValue('max.account.user.vms', '-1')).toBe(-1);
  });

  it('coerces booleans from true/false strings', () => {
    expect(parseSettingValue('cluster.threshold.enabled', 'false')).toBe(false);
    expect(parseSettingValue('cluster.threshold.enabled', 'TRUE')).toBe(true);
    expect(parseSettingValue('cluster.threshold.enabled', false)).toBe(false);
  });

  it('parses lists from comma-separated strings and arrays', () => {
    expect(parseSettingValue('implicit.host.tags', 'GPU, FPGA ,,')).toEqual(['GPU', 'FPGA']);
    expect(parseSettingValue('implicit.host.tags', '')).toEqual([]);
    expect(parseSettingValue('implicit.host.tags', ['a', ' b '])).toEqual(['a', 'b']);
    expect(parseSettingValue('secstorage.allowed.internal.sites', '192.168.1.66/32,10.0.0.0/8')).toEqual([
      '192.168.1.66/32',
      '10.0.0.0/8',
    ]);
  });

  it('accepts and trims strings and CIDRs', () => {
    expect(parseSettingValue('guest.domain.suffix', ' example.internal ')).toBe('example.internal');
    expect(parseSettingValue('control.cidr', '10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(parseSettingValue('usage.stats.job.exec.time', '23:59')).toBe('23:59');
  });

  it.each<[string, unknown]>([
    ['cpu.overprovisioning.factor', 'abc'],
    ['cpu.overprovisioning.factor', ''],
    ['cpu.overprovisioning.factor', 0],
    ['cpu.overprovisioning.factor', -1],
    ['cpu.overprovisioning.factor', Number.NaN],
    ['cpu.overprovisioning.factor', Number.POSITIVE_INFINITY],
    ['cpu.overprovisioning.factor', '0x10'],
    ['cpu.overprovisioning.factor', true],
    ['cluster.cpu.allocated.capacity.disablethreshold', 1.5],
    ['cluster.cpu.allocated.capacity.disablethreshold', '-0.1'],
    ['start.retry', 2.5],
    ['start.retry', '2.5'],
    ['start.retry', 0],
    ['max.account.user.vms', -2],
    ['remote.access.vpn.psk.length', 7],
    ['remote.access.vpn.psk.length', 257],
    ['network.guest.cidr.limit', 33],
    ['network.loadbalancer.basiczone.elb.gc.interval.minutes', 4],
    ['alert.smtp.port', 70000],
    ['cluster.threshold.enabled', 'yes'],
    ['cluster.threshold.enabled', 1],
    ['cluster.threshold.enabled', null],
    ['guest.domain.suffix', 42],
    ['guest.domain.suffix', undefined],
    ['host.capacityType.to.order.clusters', 'DISK'],
    ['control.cidr', '169.254.0.0'],
    ['control.cidr', '300.1.1.1/8'],
    ['control.cidr', '10.0.0.0/33'],
    ['control.gateway', '169.254.0'],
    ['mac.address.prefix', '6'],
    ['mac.address.prefix', 'zz'],
    ['usage.stats.job.exec.time', '24:00'],
    ['remote.access.vpn.client.iprange', '10.1.2.1'],
    ['implicit.host.tags', 42],
    ['implicit.host.tags', ['GPU', 1]],
    ['secstorage.allowed.internal.sites', '10.0.0.0/8,not-a-cidr'],
  ])('rejects %s = %j with InvalidParameterError(field = key)', (key, raw) => {
    expectInvalid(key, raw);
  });

  it('rejects an unknown key', () => {
    const err = caught(() => parseSettingValue('no.such.setting', '1'));
    expect(err).toBeInstanceOf(InvalidParameterError);
    expect((err as InvalidParameterError).field).toBe('key');
    expect((err as InvalidParameterError).value).toBe('no.such.setting');
    expect(() => settingDefinition('no.such.setting')).toThrow(InvalidParameterError);
    expect(() => settingDefinition('constructor')).toThrow(InvalidParameterError);
    expect(() => isScopeAllowed('no.such.setting', 'global')).toThrow(InvalidParameterError);
    expect(isSettingKey('no.such.setting')).toBe(false);
    expect(isSettingKey('toString')).toBe(false);
  });
});

describe('isScopeAllowed', () => {
  it('follows the scopes the spec gives', () => {
    expect(isScopeAllowed('cpu.overprovisioning.factor', 'cluster')).toBe(true);
    expect(isScopeAllowed('cpu.overprovisioning.factor', 'global')).toBe(true);
    expect(isScopeAllowed('cpu.overprovisioning.factor', 'zone')).toBe(false);
    expect(isScopeAllowed('storage.overprovisioning.factor', 'storagepool')).toBe(true);
    expect(isScopeAllowed('storage.overprovisioning.factor', 'cluster')).toBe(false);
    expect(isScopeAllowed('use.system.public.ips', 'account')).toBe(true);
    expect(isScopeAllowed('system.vm.use.local.storage', 'zone')).toBe(true);
    expect(isScopeAllowed('start.retry', 'zone')).toBe(false);
    expect(isScopeAllowed('start.retry', 'pod')).toBe(false);
  });

  it('every setting allows global', () => {
    for (const key of SETTING_KEYS) expect(isScopeAllowed(key, 'global')).toBe(true);
  });
});

describe('types', () => {
  it('maps keys to value types', () => {
    expectTypeOf<SettingValue<'cpu.overprovisioning.factor'>>().toEqualTypeOf<number>();
    expectTypeOf<SettingValue<'cluster.threshold.enabled'>>().toEqualTypeOf<boolean>();
    expectTypeOf<SettingValue<'guest.domain.suffix'>>().toEqualTypeOf<string>();
    expectTypeOf<SettingValue<'implicit.host.tags'>>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<SettingValue<'host.capacityType.to.order.clusters'>>().toEqualTypeOf<'CPU' | 'RAM' | 'COMBINED'>();
    expectTypeOf(parseSettingValue('start.retry', '3')).toEqualTypeOf<number>();
    expectTypeOf(SETTINGS['network.gc.wait'].default).toEqualTypeOf<number>();
    expectTypeOf<'cpu.overprovisioning.factor'>().toExtend<SettingKey>();
    expectTypeOf<'no.such.setting'>().not.toExtend<SettingKey>();
  });
});
