/**
 * The API calls the fake answers (after the session check, which the server does): generic field access for every
 * class, and the lifecycle calls with XAPI's rules. Each handler takes the parameters after the session ref and
 * declares how many it takes (`MESSAGE_PARAMETER_COUNT_MISMATCH` otherwise).
 */
import { randomBytes } from 'node:crypto';
import { bool, coerce, int, map, str } from './xapi-coerce.js';
import { NULL_REF, type XapiDatabase, type XapiRecord } from './xapi-database.js';
import { XapiFailure } from './xapi-failure.js';
import { XAPI_CLASSES } from './xapi-schema.js';

/** One call's handler: parameters after the session ref. */
export interface XapiHandler {
  arity: number | readonly number[];
  run(...args: unknown[]): unknown;
}

/** Facts the methods need from the fake. */
export interface XapiMethodsHost {
  db: XapiDatabase;
  /** Bytes given to a new SR of a type (`physical_size` when the caller passes `0`). */
  srSizeBytes: number;
}

const SR_TYPES = new Set(['nfs', 'lvmoiscsi', 'lvmohba', 'ext', 'lvm', 'iso', 'udev', 'file']);
const VDI_TYPES = new Set(['user', 'system', 'ephemeral', 'suspend', 'crashdump', 'metadata', 'redo_log', 'rrd']);
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Builds the handler table over a database. */
export function xapiHandlers(host: XapiMethodsHost): Map<string, XapiHandler> {
  const { db } = host;
  const handlers = new Map<string, XapiHandler>();
  const def = (name: string, arity: number | readonly number[], run: (...args: unknown[]) => unknown) =>
    handlers.set(name, { arity, run });

  const ref = (cls: string, v: unknown): string => {
    const r = str(v, cls);
    db.get(cls, r);
    return r;
  };
  const refOrNull = (cls: string, v: unknown): string => {
    const r = str(v, cls);
    if (r !== NULL_REF && r !== '') db.get(cls, r);
    return r === '' ? NULL_REF : r;
  };
  const powerState = (vm: string) => String(db.get('VM', vm).power_state).toLowerCase();
  const requirePower = (vm: string, ...states: string[]) => {
    const actual = powerState(vm);
    if (!states.includes(actual)) throw new XapiFailure('VM_BAD_POWER_STATE', vm, states[0], actual);
  };

  // ── generic field access ───────────────────────────────────────────────────────────────────────────────
  for (const spec of Object.values(XAPI_CLASSES)) {
    const c = spec.name;
    def(`${c}.get_all`, 0, () => db.all(c).map(([r]) => r));
    def(`${c}.get_all_records`, 0, () => Object.fromEntries(db.all(c)));
    def(`${c}.get_record`, 1, (r) => db.get(c, str(r, 'self')));
    def(`${c}.get_by_uuid`, 1, (u) => db.byUuid(c, str(u, 'uuid')));
    if (spec.fields.name_label)
      def(`${c}.get_by_name_label`, 1, (n) => {
        const label = str(n, 'label');
        return db.where(c, (rec) => rec.name_label === label).map(([r]) => r);
      });
    for (const [field, f] of Object.entries(spec.fields)) {
      def(`${c}.get_${field}`, 1, (r) => db.get(c, str(r, 'self'))[field]);
      if (!f.writable) continue;
      def(`${c}.set_${field}`, 2, (r, v) => {
        db.update(c, str(r, 'self'), { [field]: coerce(f.type, v, 'value') });
        return '';
      });
      if (f.type === 'm') {
        def(`${c}.add_to_${field}`, 3, (r, k, v) => {
          const rec = db.get(c, str(r, 'self'));
          const key = str(k, 'key');
          const cur = rec[field] as Record<string, string>;
          if (key in cur) throw new XapiFailure('MAP_DUPLICATE_KEY', c, field, r, key);
          db.update(c, r as string, { [field]: { ...cur, [key]: str(v, 'value') } });
          return '';
        });
        def(`${c}.remove_from_${field}`, 2, (r, k) => {
          const rec = db.get(c, str(r, 'self'));
          const { [str(k, 'key')]: _gone, ...rest } = rec[field] as Record<string, string>;
          db.update(c, r as string, { [field]: rest });
          return '';
        });
      }
      if (f.type === 'S') {
        def(`${c}.add_${field.replace(/s$/, '')}`, 2, (r, v) => {
          db.addToSet(c, ref(c, r), field, str(v, 'value'));
          return '';
        });
        def(`${c}.remove_${field.replace(/s$/, '')}`, 2, (r, v) => {
          db.removeFromSet(c, ref(c, r), field, str(v, 'value'));
          return '';
        });
      }
    }
  }

  /** Checks a constructor record: every required field present and of its type; unknown fields ignored. */
  const constructorRecord = (cls: string, value: unknown): XapiRecord => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new XapiFailure('FIELD_TYPE_ERROR', 'args');
    const input = value as Record<string, unknown>;
    const spec = db.spec(cls);
    const out: XapiRecord = {};
    for (const [field, f] of Object.entries(spec.fields)) {
      if (!f.constructor) continue;
      if (!(field in input)) {
        if (f.required) throw new XapiFailure('FIELD_MISSING', field);
        continue;
      }
      out[field] = coerce(f.type, input[field], field);
    }
    return out;
  };

  // ── hosts and memory ───────────────────────────────────────────────────────────────────────────────────
  const vmMemory = (vm: XapiRecord) => Number(vm.memory_static_max);
  const freeMemory = (h: string): number => {
    const hostRec = db.get('host', h);
    const metrics = db.get('host_metrics', hostRec.metrics as string);
    const used = db
      .where('VM', (v) => v.resident_on === h && v.power_state !== 'Halted')
      .reduce((sum, [, v]) => sum + vmMemory(v), 0);
    return Number(metrics.memory_total) - Number(hostRec.memory_overhead) - used;
  };
  const refreshMetrics = (h: string) => {
    const hostRec = db.get('host', h);
    db.update('host_metrics', hostRec.metrics as string, { memory_free: freeMemory(h), last_updated: Date.now() });
  };
  const hostSeesSr = (h: string, sr: string) =>
    db.where('PBD', (p) => p.host === h && p.SR === sr && p.currently_attached === true).length > 0;

  /** Why `vm` cannot run on `h`, as XAPI's `VM.assert_can_boot_here` says it. */
  const assertCanBootHere = (vm: string, h: string) => {
    const hostRec = db.get('host', h);
    const metrics = db.get('host_metrics', hostRec.metrics as string);
    if (metrics.live !== true) throw new XapiFailure('HOST_OFFLINE', h);
    if (hostRec.enabled !== true) throw new XapiFailure('HOST_DISABLED', h);
    const vmRec = db.get('VM', vm);
    for (const vbd of vmRec.VBDs as string[]) {
      const b = db.get('VBD', vbd);
      if (b.empty === true || b.VDI === NULL_REF) continue;
      const sr = db.get('VDI', b.VDI as string).SR as string;
      if (!hostSeesSr(h, sr)) throw new XapiFailure('VM_REQUIRES_SR', vm, sr);
    }
    for (const vif of vmRec.VIFs as string[]) {
      const net = db.get('VIF', vif).network as string;
      const pifs = db.get('network', net).PIFs as string[];
      if (pifs.length > 0 && !pifs.some((p) => db.get('PIF', p).host === h))
        throw new XapiFailure('VM_REQUIRES_NET', vm, net);
    }
    const needed = vmMemory(vmRec);
    const free = vmRec.resident_on === h ? Number.POSITIVE_INFINITY : freeMemory(h);
    if (needed > free) throw new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', needed, free);
  };

  const powerOn = (vm: string, h: string, paused: boolean) => {
    const vmRec = db.get('VM', vm);
    const address = db.get('host', h).address as string;
    const domid = 1 + db.where('VM', (v) => v.resident_on === h && v.power_state !== 'Halted').length;
    const consoleRef = db.insert('console', { protocol: 'rfb', VM: vm, location: '' });
    db.update('console', consoleRef, { location: `https://${address}/console?ref=${consoleRef}` });
    db.update('VM', vm, {
      power_state: paused ? 'Paused' : 'Running',
      resident_on: h,
      domid,
      consoles: [...(vmRec.consoles as string[]), consoleRef],
    });
    for (const vbd of vmRec.VBDs as string[]) db.update('VBD', vbd, { currently_attached: true });
    for (const vif of vmRec.VIFs as string[]) db.update('VIF', vif, { currently_attached: true });
    db.addToSet('host', h, 'resident_VMs', vm);
    refreshMetrics(h);
  };
  const powerOff = (vm: string) => {
    const vmRec = db.get('VM', vm);
    const h = vmRec.resident_on as string;
    for (const vbd of vmRec.VBDs as string[]) db.update('VBD', vbd, { currently_attached: false });
    for (const vif of vmRec.VIFs as string[]) db.update('VIF', vif, { currently_attached: false });
    for (const con of vmRec.consoles as string[]) if (db.has('console', con)) db.remove('console', con);
    db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF, domid: -1, consoles: [] });
    if (db.has('host', h)) {
      db.removeFromSet('host', h, 'resident_VMs', vm);
      refreshMetrics(h);
    }
  };
  const startOn = (vm: string, h: string, paused: boolean) => {
    const vmRec = db.get('VM', vm);
    if (vmRec.is_a_template === true) throw new XapiFailure('VM_IS_TEMPLATE', vm);
    requirePower(vm, 'halted');
    assertCanBootHere(vm, h);
    powerOn(vm, h, paused);
    return '';
  };

  // ── VM ─────────────────────────────────────────────────────────────────────────────────────────────────
  def('VM.create', 1, (r) => {
    const rec = constructorRecord('VM', r);
    const [smin, dmin, dmax, smax] = [
      rec.memory_static_min,
      rec.memory_dynamic_min,
      rec.memory_dynamic_max,
      rec.memory_static_max,
    ].map(Number) as [number, number, number, number];
    if (!(smin <= dmin && dmin <= dmax && dmax <= smax))
      throw new XapiFailure(
        'MEMORY_CONSTRAINT_VIOLATION',
        'Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max',
      );
    if (Number(rec.VCPUs_at_startup) > Number(rec.VCPUs_max) || Number(rec.VCPUs_at_startup) < 1)
      throw new XapiFailure('VALUE_NOT_SUPPORTED', 'VCPUs_at_startup', rec.VCPUs_at_startup, 'must be 1..VCPUs_max');
    rec.affinity = refOrNull('host', rec.affinity ?? NULL_REF);
    return db.insert('VM', { ...rec, power_state: 'Halted', domid: -1, memory_target: rec.memory_dynamic_max });
  });
  def('VM.destroy', 1, (v) => {
    const vm = ref('VM', v);
    requirePower(vm, 'halted');
    const rec = db.get('VM', vm);
    if (rec.is_control_domain === true) throw new XapiFailure('OPERATION_NOT_ALLOWED', 'control domain');
    for (const vbd of rec.VBDs as string[]) destroyVbd(vbd);
    for (const vif of rec.VIFs as string[]) destroyVif(vif);
    db.remove('VM', vm);
    return '';
  });
  def('VM.start', 3, (v, paused, _force) => {
    const vm = ref('VM', v);
    const rec = db.get('VM', vm);
    if (rec.is_a_template === true) throw new XapiFailure('VM_IS_TEMPLATE', vm);
    requirePower(vm, 'halted');
    const affinity = rec.affinity as string;
    if (affinity !== NULL_REF && db.has('host', affinity)) {
      try {
        return startOn(vm, affinity, bool(paused, 'start_paused'));
      } catch (e) {
        if (!(e instanceof XapiFailure) || e.code === 'VM_REQUIRES_SR') throw e;
      }
    }
    const candidates = db.all('host').map(([h]) => h);
    for (const h of candidates) {
      try {
        assertCanBootHere(vm, h);
        return startOn(vm, h, bool(paused, 'start_paused'));
      } catch (e) {
        if (!(e instanceof XapiFailure)) throw e;
      }
    }
    throw new XapiFailure('NO_HOSTS_AVAILABLE');
  });
  def('VM.start_on', 4, (v, h, paused, _force) => startOn(ref('VM', v), ref('host', h), bool(paused, 'start_paused')));
  def('VM.assert_can_boot_here', 2, (v, h) => {
    assertCanBootHere(ref('VM', v), ref('host', h));
    return '';
  });
  def('VM.clean_shutdown', 1, (v) => {
    const vm = ref('VM', v);
    requirePower(vm, 'running');
    powerOff(vm);
    return '';
  });
  def('VM.hard_shutdown', 1, (v) => {
    const vm = ref('VM', v);
    requirePower(vm, 'running', 'paused', 'suspended');
    powerOff(vm);
    return '';
  });
  const reboot = (v: unknown) => {
    const vm = ref('VM', v);
    requirePower(vm, 'running');
    db.update('VM', vm, { domid: Number(db.get('VM', vm).domid) + 1 });
    return '';
  };
  def('VM.clean_reboot', 1, reboot);
  def('VM.hard_reboot', 1, reboot);
  def('VM.pause', 1, (v) => {
    const vm = ref('VM', v);
    requirePower(vm, 'running');
    db.update('VM', vm, { power_state: 'Paused' });
    return '';
  });
  def('VM.unpause', 1, (v) => {
    const vm = ref('VM', v);
    requirePower(vm, 'paused');
    db.update('VM', vm, { power_state: 'Running' });
    return '';
  });
  def('VM.pool_migrate', 3, (v, h, options) => {
    const vm = ref('VM', v);
    const dest = ref('host', h);
    map(options, 'options');
    requirePower(vm, 'running');
    const source = db.get('VM', vm).resident_on as string;
    if (source === dest) return '';
    assertCanBootHere(vm, dest);
    db.removeFromSet('host', source, 'resident_VMs', vm);
    db.update('VM', vm, { resident_on: dest });
    db.addToSet('host', dest, 'resident_VMs', vm);
    refreshMetrics(source);
    refreshMetrics(dest);
    return '';
  });
  def('VM.snapshot', 2, (v, name) => {
    const vm = ref('VM', v);
    const rec = db.get('VM', vm);
    const snap = db.insert('VM', {
      ...rec,
      uuid: undefined,
      name_label: str(name, 'new_name'),
      is_a_snapshot: true,
      is_a_template: true,
      snapshot_of: vm,
      power_state: 'Halted',
      resident_on: NULL_REF,
      VBDs: [],
      VIFs: [],
      consoles: [],
      snapshots: [],
    });
    for (const vbd of rec.VBDs as string[]) {
      const b = db.get('VBD', vbd);
      const vdi = b.VDI === NULL_REF || b.empty === true ? NULL_REF : snapshotVdi(b.VDI as string);
      createVbd({ ...b, uuid: undefined, VM: snap, VDI: vdi, currently_attached: false });
    }
    db.addToSet('VM', vm, 'snapshots', snap);
    return snap;
  });
  def('VM.get_allowed_VBD_devices', 1, (v) => {
    const used = new Set((db.get('VM', ref('VM', v)).VBDs as string[]).map((b) => db.get('VBD', b).userdevice));
    return Array.from({ length: 16 }, (_, i) => String(i)).filter((d) => !used.has(d));
  });
  def('VM.get_allowed_VIF_devices', 1, (v) => {
    const used = new Set((db.get('VM', ref('VM', v)).VIFs as string[]).map((b) => db.get('VIF', b).device));
    return Array.from({ length: 7 }, (_, i) => String(i)).filter((d) => !used.has(d));
  });

  // ── VBD ────────────────────────────────────────────────────────────────────────────────────────────────
  const createVbd = (rec: XapiRecord): string => {
    const vm = ref('VM', rec.VM);
    const type = String(rec.type);
    if (!['Disk', 'CD', 'Floppy'].includes(type)) throw new XapiFailure('FIELD_TYPE_ERROR', 'type');
    if (!['RO', 'RW'].includes(String(rec.mode))) throw new XapiFailure('FIELD_TYPE_ERROR', 'mode');
    const empty = rec.empty === true;
    const vdi = rec.VDI === NULL_REF || rec.VDI === '' ? NULL_REF : ref('VDI', rec.VDI);
    if (vdi === NULL_REF && !(empty && type === 'CD')) throw new XapiFailure('HANDLE_INVALID', 'VDI', String(rec.VDI));
    let userdevice = String(rec.userdevice);
    const used = (db.get('VM', vm).VBDs as string[]).map((b) => db.get('VBD', b).userdevice);
    if (userdevice === 'autodetect')
      userdevice = String(Array.from({ length: 16 }, (_, i) => i).find((i) => !used.includes(String(i))));
    else if (!/^\d+$/.test(userdevice)) throw new XapiFailure('INVALID_DEVICE', userdevice);
    if (used.includes(userdevice)) throw new XapiFailure('DEVICE_ALREADY_EXISTS', userdevice);
    const vbd = db.insert('VBD', { ...rec, VM: vm, VDI: vdi, userdevice, currently_attached: false });
    db.addToSet('VM', vm, 'VBDs', vbd);
    if (vdi !== NULL_REF) db.addToSet('VDI', vdi, 'VBDs', vbd);
    return vbd;
  };
  const destroyVbd = (vbd: string) => {
    const rec = db.get('VBD', vbd);
    if (rec.currently_attached === true && powerState(rec.VM as string) !== 'halted')
      throw new XapiFailure('OPERATION_NOT_ALLOWED', 'VBD is currently attached');
    db.removeFromSet('VM', rec.VM as string, 'VBDs', vbd);
    if (rec.VDI !== NULL_REF) db.removeFromSet('VDI', rec.VDI as string, 'VBDs', vbd);
    db.remove('VBD', vbd);
  };
  def('VBD.create', 1, (r) => createVbd(constructorRecord('VBD', r)));
  def('VBD.destroy', 1, (r) => {
    destroyVbd(ref('VBD', r));
    return '';
  });
  const runningVmOf = (cls: 'VBD' | 'VIF', r: string) => {
    const vm = db.get(cls, r).VM as string;
    requirePower(vm, 'running', 'paused');
    return vm;
  };
  def('VBD.plug', 1, (r) => {
    const vbd = ref('VBD', r);
    const vm = runningVmOf('VBD', vbd);
    const rec = db.get('VBD', vbd);
    if (rec.currently_attached === true) throw new XapiFailure('DEVICE_ALREADY_ATTACHED', vbd);
    if (rec.VDI !== NULL_REF) {
      const sr = db.get('VDI', rec.VDI as string).SR as string;
      if (!hostSeesSr(db.get('VM', vm).resident_on as string, sr)) throw new XapiFailure('VM_REQUIRES_SR', vm, sr);
    }
    db.update('VBD', vbd, { currently_attached: true });
    return '';
  });
  def('VBD.unplug', 1, (r) => {
    const vbd = ref('VBD', r);
    runningVmOf('VBD', vbd);
    if (db.get('VBD', vbd).currently_attached !== true) throw new XapiFailure('DEVICE_ALREADY_DETACHED', vbd);
    db.update('VBD', vbd, { currently_attached: false });
    return '';
  });
  def('VBD.insert', 2, (r, d) => {
    const vbd = ref('VBD', r);
    const vdi = ref('VDI', d);
    const rec = db.get('VBD', vbd);
    if (rec.type !== 'CD') throw new XapiFailure('VBD_NOT_REMOVABLE_MEDIA', vbd);
    if (rec.empty !== true) throw new XapiFailure('VBD_NOT_EMPTY', vbd);
    db.update('VBD', vbd, { VDI: vdi, empty: false });
    db.addToSet('VDI', vdi, 'VBDs', vbd);
    return '';
  });
  def('VBD.eject', 1, (r) => {
    const vbd = ref('VBD', r);
    const rec = db.get('VBD', vbd);
    if (rec.type !== 'CD') throw new XapiFailure('VBD_NOT_REMOVABLE_MEDIA', vbd);
    if (rec.empty === true) throw new XapiFailure('VBD_IS_EMPTY', vbd);
    db.removeFromSet('VDI', rec.VDI as string, 'VBDs', vbd);
    db.update('VBD', vbd, { VDI: NULL_REF, empty: true });
    return '';
  });

  // ── VIF ────────────────────────────────────────────────────────────────────────────────────────────────
  const destroyVif = (vif: string) => {
    const rec = db.get('VIF', vif);
    if (rec.currently_attached === true && powerState(rec.VM as string) !== 'halted')
      throw new XapiFailure('OPERATION_NOT_ALLOWED', 'VIF is currently attached');
    db.removeFromSet('VM', rec.VM as string, 'VIFs', vif);
    db.removeFromSet('network', rec.network as string, 'VIFs', vif);
    db.remove('VIF', vif);
  };
  def('VIF.create', 1, (r) => {
    const rec = constructorRecord('VIF', r);
    const vm = ref('VM', rec.VM);
    const net = ref('network', rec.network);
    const device = String(rec.device);
    if (!/^\d+$/.test(device)) throw new XapiFailure('INVALID_DEVICE', device);
    if ((db.get('VM', vm).VIFs as string[]).some((v) => db.get('VIF', v).device === device))
      throw new XapiFailure('DEVICE_ALREADY_EXISTS', device);
    let mac = String(rec.MAC);
    const autogenerated = mac === '';
    if (autogenerated) mac = [0x02, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    else if (!MAC.test(mac)) throw new XapiFailure('MAC_INVALID', mac);
    const vif = db.insert('VIF', {
      ...rec,
      VM: vm,
      network: net,
      MAC: mac,
      MAC_autogenerated: autogenerated,
      locking_mode: rec.locking_mode ?? 'network_default',
    });
    db.addToSet('VM', vm, 'VIFs', vif);
    db.addToSet('network', net, 'VIFs', vif);
    return vif;
  });
  def('VIF.destroy', 1, (r) => {
    destroyVif(ref('VIF', r));
    return '';
  });
  def('VIF.plug', 1, (r) => {
    const vif = ref('VIF', r);
    runningVmOf('VIF', vif);
    if (db.get('VIF', vif).currently_attached === true) throw new XapiFailure('DEVICE_ALREADY_ATTACHED', vif);
    db.update('VIF', vif, { currently_attached: true });
    return '';
  });
  def('VIF.unplug', 1, (r) => {
    const vif = ref('VIF', r);
    runningVmOf('VIF', vif);
    if (db.get('VIF', vif).currently_attached !== true) throw new XapiFailure('DEVICE_ALREADY_DETACHED', vif);
    db.update('VIF', vif, { currently_attached: false });
    return '';
  });

  // ── VDI ────────────────────────────────────────────────────────────────────────────────────────────────
  const srAllocate = (sr: string, bytes: number) => {
    const rec = db.get('SR', sr);
    const allocation = Number(rec.virtual_allocation) + bytes;
    if (bytes > 0 && allocation > Number(rec.physical_size))
      throw new XapiFailure('SR_BACKEND_FAILURE_44', '', 'There is insufficient space', '');
    db.update('SR', sr, { virtual_allocation: allocation, physical_utilisation: allocation });
  };
  const insertVdi = (fields: XapiRecord): string => {
    const sr = ref('SR', fields.SR);
    if (db.where('PBD', (p) => p.SR === sr && p.currently_attached === true).length === 0)
      throw new XapiFailure('SR_NO_PBDS', sr);
    const size = Number(fields.virtual_size);
    if (size < 0) throw new XapiFailure('VALUE_NOT_SUPPORTED', 'virtual_size', size, 'negative');
    srAllocate(sr, size);
    const vdi = db.insert('VDI', { ...fields, SR: sr, physical_utilisation: size, managed: true, VBDs: [] });
    db.update('VDI', vdi, { location: db.get('VDI', vdi).uuid });
    db.addToSet('SR', sr, 'VDIs', vdi);
    return vdi;
  };
  const snapshotVdi = (vdi: string): string => {
    const rec = db.get('VDI', vdi);
    const snap = insertVdi({
      ...rec,
      uuid: undefined,
      is_a_snapshot: true,
      snapshot_of: vdi,
      snapshot_time: Date.now(),
      snapshots: [],
    });
    db.addToSet('VDI', vdi, 'snapshots', snap);
    const bytes = db.contents.get(vdi);
    if (bytes) db.contents.set(snap, bytes);
    return snap;
  };
  const withContents = (from: string, to: string) => {
    const bytes = db.contents.get(from);
    if (bytes) db.contents.set(to, bytes);
    return to;
  };
  def('VDI.create', 1, (r) => {
    const rec = constructorRecord('VDI', r);
    if (!VDI_TYPES.has(String(rec.type))) throw new XapiFailure('FIELD_TYPE_ERROR', 'type');
    return insertVdi(rec);
  });
  def('VDI.destroy', 1, (r) => {
    const vdi = ref('VDI', r);
    const rec = db.get('VDI', vdi);
    for (const vbd of rec.VBDs as string[])
      if (db.get('VBD', vbd).currently_attached === true) throw new XapiFailure('VDI_IN_USE', vdi, 'destroy');
    for (const vbd of rec.VBDs as string[]) destroyVbd(vbd);
    srAllocate(rec.SR as string, -Number(rec.virtual_size));
    db.removeFromSet('SR', rec.SR as string, 'VDIs', vdi);
    db.contents.delete(vdi);
    if (rec.snapshot_of !== NULL_REF) db.removeFromSet('VDI', rec.snapshot_of as string, 'snapshots', vdi);
    db.remove('VDI', vdi);
    return '';
  });
  def('VDI.clone', 2, (r, params) => {
    map(params, 'driver_params');
    const source = ref('VDI', r);
    const rec = db.get('VDI', source);
    return withContents(
      source,
      insertVdi({ ...rec, uuid: undefined, is_a_snapshot: false, snapshot_of: NULL_REF, snapshots: [] }),
    );
  });
  def('VDI.copy', 2, (r, s) => {
    const source = ref('VDI', r);
    const rec = db.get('VDI', source);
    return withContents(
      source,
      insertVdi({ ...rec, uuid: undefined, SR: ref('SR', s), snapshot_of: NULL_REF, snapshots: [] }),
    );
  });
  def('VDI.snapshot', 2, (r, params) => {
    map(params, 'driver_params');
    return snapshotVdi(ref('VDI', r));
  });
  def('VDI.resize', 2, (r, size) => {
    const vdi = ref('VDI', r);
    const rec = db.get('VDI', vdi);
    const bytes = int(size, 'size');
    if (bytes < Number(rec.virtual_size)) throw new XapiFailure('SR_BACKEND_FAILURE_79', '', 'VDI Invalid size', '');
    srAllocate(rec.SR as string, bytes - Number(rec.virtual_size));
    db.update('VDI', vdi, { virtual_size: bytes, physical_utilisation: bytes });
    return '';
  });
  def('VDI.pool_migrate', 3, (r, s, options) => {
    map(options, 'options');
    const vdi = ref('VDI', r);
    const rec = db.get('VDI', vdi);
    const copy = insertVdi({ ...rec, uuid: undefined, SR: ref('SR', s), VBDs: [] });
    for (const vbd of rec.VBDs as string[]) {
      db.update('VBD', vbd, { VDI: copy });
      db.addToSet('VDI', copy, 'VBDs', vbd);
    }
    db.update('VDI', vdi, { VBDs: [] });
    srAllocate(rec.SR as string, -Number(rec.virtual_size));
    db.removeFromSet('SR', rec.SR as string, 'VDIs', vdi);
    db.remove('VDI', vdi);
    return copy;
  });

  // ── SR and PBD ─────────────────────────────────────────────────────────────────────────────────────────
  const checkDeviceConfig = (type: string, config: Record<string, string>) => {
    const need: Record<string, string[]> = {
      nfs: ['server', 'serverpath'],
      lvmoiscsi: ['target', 'targetIQN', 'SCSIid'],
      lvmohba: ['SCSIid'],
      ext: ['device'],
      lvm: ['device'],
    };
    for (const key of need[type] ?? [])
      if (!config[key]) throw new XapiFailure('SR_BACKEND_FAILURE_37', '', `device-config is missing ${key}`, '');
  };
  const plugPbd = (pbd: string) => {
    const rec = db.get('PBD', pbd);
    const sr = db.get('SR', rec.SR as string);
    checkDeviceConfig(String(sr.type), rec.device_config as Record<string, string>);
    db.update('PBD', pbd, { currently_attached: true });
  };
  const createPbd = (h: string, sr: string, config: Record<string, string>, other: Record<string, string>) => {
    const pbd = db.insert('PBD', { host: h, SR: sr, device_config: config, other_config: other });
    db.addToSet('SR', sr, 'PBDs', pbd);
    db.addToSet('host', h, 'PBDs', pbd);
    return pbd;
  };
  def('SR.create', 9, (h, config, size, name, description, type, contentType, shared, smConfig) => {
    const hostRef = ref('host', h);
    const deviceConfig = map(config, 'device_config');
    const srType = str(type, 'type');
    if (!SR_TYPES.has(srType)) throw new XapiFailure('SR_UNKNOWN_DRIVER', srType);
    checkDeviceConfig(srType, deviceConfig);
    const isShared = bool(shared, 'shared');
    const requested = int(size, 'physical_size');
    const sr = db.insert('SR', {
      name_label: str(name, 'name_label'),
      name_description: str(description, 'name_description'),
      type: srType,
      content_type: str(contentType, 'content_type'),
      shared: isShared,
      sm_config: map(smConfig, 'sm_config'),
      physical_size: requested > 0 ? requested : host.srSizeBytes,
    });
    const hosts = isShared ? db.all('host').map(([r]) => r) : [hostRef];
    for (const each of hosts) plugPbd(createPbd(each, sr, deviceConfig, {}));
    return sr;
  });
  def('SR.introduce', 7, (uuid, name, description, type, contentType, shared, smConfig) => {
    const srType = str(type, 'type');
    if (!SR_TYPES.has(srType)) throw new XapiFailure('SR_UNKNOWN_DRIVER', srType);
    const u = str(uuid, 'uuid');
    if (db.where('SR', (s) => s.uuid === u).length > 0) throw new XapiFailure('SR_UUID_EXISTS', u);
    return db.insert('SR', {
      uuid: u,
      name_label: str(name, 'name_label'),
      name_description: str(description, 'name_description'),
      type: srType,
      content_type: str(contentType, 'content_type'),
      shared: bool(shared, 'shared'),
      sm_config: map(smConfig, 'sm_config'),
      physical_size: host.srSizeBytes,
    });
  });
  const forgetSr = (sr: string, plugged: boolean) => {
    const rec = db.get('SR', sr);
    for (const pbd of rec.PBDs as string[])
      if ((db.get('PBD', pbd).currently_attached === true) !== plugged)
        throw new XapiFailure(plugged ? 'SR_NOT_ATTACHED' : 'SR_HAS_PBD', sr);
    for (const vdi of rec.VDIs as string[])
      for (const vbd of db.get('VDI', vdi).VBDs as string[])
        if (db.get('VBD', vbd).currently_attached === true) throw new XapiFailure('VDI_IN_USE', vdi, 'destroy');
    for (const vdi of rec.VDIs as string[]) {
      for (const vbd of db.get('VDI', vdi).VBDs as string[]) destroyVbd(vbd);
      db.remove('VDI', vdi);
    }
    for (const pbd of rec.PBDs as string[]) {
      db.removeFromSet('host', db.get('PBD', pbd).host as string, 'PBDs', pbd);
      db.remove('PBD', pbd);
    }
    db.remove('SR', sr);
    return '';
  };
  def('SR.forget', 1, (r) => forgetSr(ref('SR', r), false));
  def('SR.destroy', 1, (r) => forgetSr(ref('SR', r), true));
  def('SR.scan', 1, (r) => {
    ref('SR', r);
    return '';
  });
  def('PBD.create', 1, (r) => {
    const rec = constructorRecord('PBD', r);
    const h = ref('host', rec.host);
    const sr = ref('SR', rec.SR);
    if (db.where('PBD', (p) => p.host === h && p.SR === sr).length > 0) throw new XapiFailure('PBD_EXISTS', sr, h);
    return createPbd(h, sr, rec.device_config as Record<string, string>, rec.other_config as Record<string, string>);
  });
  def('PBD.plug', 1, (r) => {
    const pbd = ref('PBD', r);
    if (db.get('PBD', pbd).currently_attached !== true) plugPbd(pbd);
    return '';
  });
  def('PBD.unplug', 1, (r) => {
    const pbd = ref('PBD', r);
    const rec = db.get('PBD', pbd);
    const inUse = db.where(
      'VBD',
      (b) =>
        b.currently_attached === true &&
        b.VDI !== NULL_REF &&
        db.find('VDI', b.VDI as string)?.SR === rec.SR &&
        db.find('VM', b.VM as string)?.resident_on === rec.host,
    );
    if (inUse.length > 0) throw new XapiFailure('VDI_IN_USE', inUse[0]![1].VDI, 'unplug');
    db.update('PBD', pbd, { currently_attached: false });
    return '';
  });
  def('PBD.destroy', 1, (r) => {
    const pbd = ref('PBD', r);
    const rec = db.get('PBD', pbd);
    if (rec.currently_attached === true) throw new XapiFailure('OPERATION_NOT_ALLOWED', 'PBD is currently attached');
    db.removeFromSet('SR', rec.SR as string, 'PBDs', pbd);
    db.removeFromSet('host', rec.host as string, 'PBDs', pbd);
    db.remove('PBD', pbd);
    return '';
  });

  // ── networks and VLANs ─────────────────────────────────────────────────────────────────────────────────
  let bridgeSeq = 0;
  def('network.create', 1, (r) => {
    const rec = constructorRecord('network', r);
    return db.insert('network', { MTU: 1500, ...rec, bridge: `xapi${bridgeSeq++}`, managed: true });
  });
  def('network.destroy', 1, (r) => {
    const net = ref('network', r);
    const rec = db.get('network', net);
    if ((rec.VIFs as string[]).length > 0) throw new XapiFailure('NETWORK_CONTAINS_VIF', ...(rec.VIFs as string[]));
    if ((rec.PIFs as string[]).length > 0) throw new XapiFailure('NETWORK_CONTAINS_PIF', ...(rec.PIFs as string[]));
    db.remove('network', net);
    return '';
  });
  const createVlan = (pif: string, tag: number, net: string): string => {
    const tagged = db.get('PIF', pif);
    if (Number(tagged.VLAN) !== -1) throw new XapiFailure('PIF_IS_VLAN', pif);
    if (tag < 0 || tag > 4094) throw new XapiFailure('VLAN_TAG_INVALID', tag);
    const h = tagged.host as string;
    const clash = db.where('PIF', (p) => p.host === h && p.device === tagged.device && Number(p.VLAN) === tag);
    if (clash.length > 0) throw new XapiFailure('PIF_VLAN_EXISTS', clash[0]![0]);
    const onHost = (db.get('network', net).PIFs as string[]).find((p) => db.get('PIF', p).host === h);
    if (onHost) throw new XapiFailure('NETWORK_ALREADY_CONNECTED', net, onHost);
    const untagged = db.insert('PIF', {
      device: tagged.device,
      host: h,
      network: net,
      MAC: tagged.MAC,
      MTU: tagged.MTU,
      VLAN: tag,
      physical: false,
      currently_attached: true,
      ip_configuration_mode: 'None',
    });
    const vlan = db.insert('VLAN', { tagged_PIF: pif, untagged_PIF: untagged, tag });
    db.update('PIF', untagged, { VLAN_master_of: vlan });
    db.addToSet('PIF', pif, 'VLAN_slave_of', vlan);
    db.addToSet('network', net, 'PIFs', untagged);
    db.addToSet('host', h, 'PIFs', untagged);
    return vlan;
  };
  def('VLAN.create', 3, (p, t, n) => createVlan(ref('PIF', p), int(t, 'tag'), ref('network', n)));
  def('VLAN.destroy', 1, (r) => {
    const vlan = ref('VLAN', r);
    const rec = db.get('VLAN', vlan);
    const untagged = db.get('PIF', rec.untagged_PIF as string);
    db.removeFromSet('network', untagged.network as string, 'PIFs', rec.untagged_PIF as string);
    db.removeFromSet('host', untagged.host as string, 'PIFs', rec.untagged_PIF as string);
    db.removeFromSet('PIF', rec.tagged_PIF as string, 'VLAN_slave_of', vlan);
    db.remove('PIF', rec.untagged_PIF as string);
    db.remove('VLAN', vlan);
    return '';
  });
  def('pool.create_VLAN_from_PIF', 3, (p, n, t) => {
    const pif = ref('PIF', p);
    const net = ref('network', n);
    const tag = int(t, 'VLAN');
    const device = db.get('PIF', pif).device;
    return db
      .where('PIF', (x) => x.device === device && x.physical === true)
      .map(([each]) => db.get('VLAN', createVlan(each, tag, net)).untagged_PIF);
  });

  // ── hosts and pool ─────────────────────────────────────────────────────────────────────────────────────
  def('host.disable', 1, (h) => {
    db.update('host', ref('host', h), { enabled: false });
    return '';
  });
  def('host.enable', 1, (h) => {
    db.update('host', ref('host', h), { enabled: true });
    return '';
  });
  def('host.get_servertime', 1, (h) => {
    ref('host', h);
    return new Date()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/-/g, '');
  });

  return handlers;
}
