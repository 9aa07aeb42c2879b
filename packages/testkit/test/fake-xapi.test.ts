/**
 * fake-xapi's own rules, over raw JSON-RPC and XML-RPC (no client library): the wire envelopes, sessions and their
 * expiry, referential rules, tasks, events and fault injection.
 */
import {
  decodeMethodResponse,
  encodeMethodCall,
  type FakeXapi,
  startFakeXapi,
  XmlRpcDouble,
} from '@stratus/testkit/fake-xapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let fake: FakeXapi;
let id = 0;
beforeEach(async () => {
  fake = await startFakeXapi({ hosts: 2, taskDelayMs: 20 });
});
afterEach(async () => {
  await fake.stop();
});

type Json = { result?: unknown; error?: { code: number; message: string; data: string[] } };
async function json(method: string, ...params: unknown[]): Promise<Json> {
  const res = await fetch(`${fake.url}/jsonrpc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++id }),
  });
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as Json;
}
async function ok(method: string, ...params: unknown[]): Promise<unknown> {
  const r = await json(method, ...params);
  if (r.error) throw new Error(`${r.error.message}(${r.error.data.join(',')})`);
  return r.result;
}
async function xml(method: string, ...params: Parameters<typeof encodeMethodCall>[1]) {
  const res = await fetch(`${fake.url}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml' },
    body: encodeMethodCall(method, params),
  });
  expect(res.headers.get('content-type')).toBe('text/xml');
  return (await decodeMethodResponse(await res.text())) as Record<string, unknown>;
}
const login = () => ok('session.login_with_password', 'root', 'xenroot', '1.0', 'test') as Promise<string>;

async function newVm(s: string, name: string): Promise<string> {
  const [tmpl] = (await ok('VM.get_by_name_label', s, 'CentOS 7')) as string[];
  const rec = (await ok('VM.get_record', s, tmpl)) as Record<string, unknown>;
  return (await ok('VM.create', s, { ...rec, is_a_template: false, name_label: name })) as string;
}

describe('fake-xapi', () => {
  it('answers XML-RPC with Status/Value, ints as strings, failures as ErrorDescription values (never faults)', async () => {
    const s = (await xml('session.login_with_password', 'root', 'xenroot')) as { Status: string; Value: string };
    expect(s.Status).toBe('Success');
    const [host] = (await xml('host.get_all', s.Value)).Value as string[];
    expect(await xml('host.get_API_version_major', s.Value, host!)).toEqual({ Status: 'Success', Value: '2' });
    expect(await xml('VM.get_record', s.Value, 'OpaqueRef:nope')).toEqual({
      Status: 'Failure',
      ErrorDescription: ['HANDLE_INVALID', 'VM', 'OpaqueRef:nope'],
    });
    // event.from's timeout must be a double over XML-RPC
    const token = (await xml('event.inject', s.Value, 'pool', fake.poolRef)).Value as string;
    expect((await xml('event.from', s.Value, ['vm'], token, '0')).ErrorDescription).toEqual([
      'FIELD_TYPE_ERROR',
      'timeout',
    ]);
    const events = (await xml('event.from', s.Value, ['pool'], '', new XmlRpcDouble(0.1))).Value as {
      events: unknown[];
    };
    expect(events.events).toHaveLength(1);
  });

  it('rejects bad credentials, and expired sessions on demand; the slave names the master', async () => {
    expect((await json('session.login_with_password', 'root', 'bad')).error).toEqual({
      code: 1,
      message: 'SESSION_AUTHENTICATION_FAILED',
      data: ['root', 'Authentication failure'],
    });
    const slave = await fetch(`${fake.hostUrls[1]}/jsonrpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'session.login_with_password',
        params: ['root', 'xenroot'],
        id: 1,
      }),
    });
    expect(((await slave.json()) as Json).error?.data).toEqual(['127.0.0.1']);
    const s = await login();
    fake.expireSessions();
    expect((await json('VM.get_all', s)).error).toMatchObject({ message: 'SESSION_INVALID', data: [s] });
  });

  it('checks constructor records and power states: templates never start, a second start is VM_BAD_POWER_STATE', async () => {
    const s = await login();
    const [tmpl] = (await ok('VM.get_by_name_label', s, 'CentOS 7')) as string[];
    expect((await json('VM.start', s, tmpl, false, false)).error?.message).toBe('VM_IS_TEMPLATE');
    const vm = await newVm(s, 'rules-vm');
    const [net] = (await ok('network.get_by_name_label', s, 'cloud-public')) as string[];
    const vif = { device: '0', network: net, VM: vm, MAC: '06:00:00:00:00:01', MTU: '1500', other_config: {} };
    expect((await json('VIF.create', s, vif)).error).toMatchObject({
      message: 'FIELD_MISSING',
      data: ['qos_algorithm_type'],
    });
    await ok('VIF.create', s, { ...vif, qos_algorithm_type: '', qos_algorithm_params: {} });
    expect(
      (await json('VIF.create', s, { ...vif, qos_algorithm_type: '', qos_algorithm_params: {} })).error,
    ).toMatchObject({
      message: 'DEVICE_ALREADY_EXISTS',
    });
    await ok('VM.start', s, vm, false, false);
    expect((await json('VM.start', s, vm, false, false)).error).toEqual({
      code: 1,
      message: 'VM_BAD_POWER_STATE',
      data: [vm, 'halted', 'running'],
    });
    expect((await json('VM.destroy', s, vm)).error?.data).toEqual([vm, 'halted', 'running']);
    expect((await json('network.destroy', s, net)).error?.message).toBe('NETWORK_CONTAINS_VIF');
    expect((await json('VM.start', s, vm)).error).toMatchObject({ message: 'MESSAGE_PARAMETER_COUNT_MISMATCH' });
    expect((await json('VM.no_such_call', s, vm)).error).toMatchObject({ message: 'MESSAGE_METHOD_UNKNOWN' });
  });

  it('runs Async.* calls as tasks that events report, and refuses a VM too big for every host', async () => {
    const s = await login();
    const vm = await newVm(s, 'task-vm');
    await ok('VM.set_memory_static_max', s, vm, String(128 * 1024 ** 3));
    await ok('VM.set_memory_dynamic_max', s, vm, String(128 * 1024 ** 3));
    const token = (await ok('event.inject', s, 'pool', fake.poolRef)) as string;
    const task = (await ok('Async.VM.start', s, vm, false, false)) as string;
    expect(await ok('task.get_status', s, task)).toBe('pending');
    let status = 'pending';
    let from = token;
    while (status === 'pending') {
      const r = (await ok('event.from', s, ['task'], from, 5.0)) as {
        token: string;
        events: Array<{ ref: string; snapshot: { status: string } }>;
      };
      from = r.token;
      for (const e of r.events) if (e.ref === task) status = e.snapshot.status;
    }
    expect(status).toBe('failure');
    expect(await ok('task.get_error_info', s, task)).toEqual(['NO_HOSTS_AVAILABLE']);
    const [host] = fake.hostRefs;
    expect((await json('VM.assert_can_boot_here', s, vm, host)).error?.message).toBe('HOST_NOT_ENOUGH_FREE_MEMORY');
    await ok('task.destroy', s, task);
    fake.loseEvents();
    expect((await json('event.from', s, ['task'], token, 0.1)).error?.message).toBe('EVENTS_LOST');
  });

  it('injects faults: fail the Nth call, drop a call mid-way, delay', async () => {
    const s = await login();
    fake.fault({ method: 'VM.get_all', nth: 2, action: 'fail', error: ['OTHER_OPERATION_IN_PROGRESS', 'VM', 'x'] });
    await ok('VM.get_all', s);
    expect((await json('VM.get_all', s)).error?.message).toBe('OTHER_OPERATION_IN_PROGRESS');
    await ok('VM.get_all', s);
    fake.fault({ method: 'host.get_all', action: 'drop' });
    await expect(json('host.get_all', s)).rejects.toThrow();
    fake.fault({ method: /^pool\./, action: 'delay', delayMs: 150 });
    const t0 = Date.now();
    await ok('pool.get_all', s);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(fake.log.filter((e) => e.outcome === 'dropped').map((e) => e.method)).toEqual(['host.get_all']);
  });

  it('hands the pool to a live member when the master fails', async () => {
    await login();
    await fake.failHost(0);
    expect(fake.master().address).toBe('127.0.0.2');
    expect(fake.sessionCount()).toBe(0);
    await expect(json('pool.get_all')).rejects.toThrow();
    const res = await fetch(`${fake.hostUrls[1]}/jsonrpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'session.login_with_password',
        params: ['root', 'xenroot'],
        id: 1,
      }),
    });
    expect(((await res.json()) as Json).result).toMatch(/^OpaqueRef:/);
  });
});
