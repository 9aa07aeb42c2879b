/**
 * The XAPI transport and pool session against fake-xapi: JSON-RPC first and XML-RPC for good on an old host, the
 * master followed, one re-login on SESSION_INVALID, no retry on bad credentials, a lost master found by probing,
 * tasks through event.from (EVENTS_LOST survived), busy retries, timeouts and the typed error mapping.
 */
import { DriverError } from '@stratus/core';
import { type FakeXapi, startFakeXapi } from '@stratus/testkit/fake-xapi';
import { afterEach, describe, expect, it } from 'vitest';
import { toDriverError, XapiError, XapiPoolSession, XapiTransportError } from '../src/index.js';

let fake: FakeXapi | undefined;
let session: XapiPoolSession | undefined;
afterEach(async () => {
  await session?.close();
  await fake?.stop();
  session = undefined;
  fake = undefined;
});

async function open(opts: Parameters<typeof startFakeXapi>[0] = {}, sessionOpts: object = {}, member = 0) {
  fake = await startFakeXapi({ hosts: 2, ...opts });
  session = new XapiPoolSession({ url: fake.hostUrls[member]!, username: 'root', password: 'xenroot', ...sessionOpts });
  return { fake, session };
}
const calls = (f: FakeXapi) => f.log.map((e) => `${e.address} ${e.transport} ${e.method} ${e.outcome}`);

describe('XapiPoolSession', () => {
  it('speaks JSON-RPC, and switches to XML-RPC for good when /jsonrpc answers text/xml', async () => {
    const a = await open();
    expect((await a.session.call('VM.get_all')) as string[]).not.toHaveLength(0);
    expect(a.session.protocol).toBe('json-rpc');
    await a.session.close();
    await a.fake.stop();
    const b = await open({ jsonRpc: false, hosts: 1 });
    const hosts = (await b.session.call('host.get_all_records')) as Record<string, { API_version_major: string }>;
    expect(Object.values(hosts)[0]!.API_version_major).toBe('2'); // XML-RPC: ints as strings
    await b.session.call('VM.get_all');
    expect(b.session.protocol).toBe('xml-rpc');
    expect(b.fake.log.filter((e) => e.transport === 'json-rpc')).toHaveLength(1);
  });

  it('follows HOST_IS_SLAVE to the master', async () => {
    const { fake, session } = await open({}, {}, 1);
    await session.call('pool.get_all');
    expect(session.masterUrl).toBe(fake.url);
    expect(calls(fake).slice(0, 2)).toEqual([
      '127.0.0.2 json-rpc session.login_with_password HOST_IS_SLAVE',
      '127.0.0.1 json-rpc session.login_with_password ok',
    ]);
  });

  it('fails a bad password once, without retry, as AuthFailed', async () => {
    fake = await startFakeXapi({ hosts: 1 });
    session = new XapiPoolSession({ url: fake.url, username: 'root', password: 'wrong' });
    const error = await session.call('VM.get_all').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiError);
    expect(toDriverError(error).driverCode).toBe('AuthFailed');
    expect(fake.log.filter((e) => e.method === 'session.login_with_password')).toHaveLength(1);
  });

  it('logs in once more on SESSION_INVALID and replays the call', async () => {
    const { fake, session } = await open();
    await session.call('VM.get_all');
    fake.expireSessions();
    await session.call('VM.get_all');
    const after = calls(fake).slice(calls(fake).indexOf('127.0.0.1 json-rpc VM.get_all SESSION_INVALID'));
    expect(after[1]).toBe('127.0.0.1 json-rpc session.login_with_password ok');
    expect(after.at(-1)).toBe('127.0.0.1 json-rpc VM.get_all ok');
    expect(after.filter((c) => c.includes('login'))).toHaveLength(1);
    // expired on every call: one re-login, then the failure
    fake.fault({ method: 'VM.get_all', action: 'expireSession', times: 5 });
    const error = await session.call('VM.get_all').catch((e: unknown) => e);
    expect((error as XapiError).code).toBe('SESSION_INVALID');
  });

  it('finds the new master by probing the members when the master is lost', async () => {
    const { fake, session } = await open({ hosts: 3 });
    await session.call('VM.get_all');
    await fake.failHost(0);
    expect((await session.call('host.get_all')) as string[]).toHaveLength(3);
    expect(session.masterUrl).toBe(fake.hostUrls[1]);
    // probes logged out: only the driver's session is left
    expect(fake.sessionCount()).toBe(1);
  });

  it('runs Async calls as tasks watched through event.from, destroyed once settled', async () => {
    const { fake, session } = await open({ taskDelayMs: 200 });
    const [tmpl] = (await session.call('VM.get_by_name_label', ['CentOS 7'])) as string[];
    const rec = (await session.call('VM.get_record', [tmpl])) as Record<string, unknown>;
    const vm = (await session.call('VM.create', [{ ...rec, is_a_template: false, name_label: 'task' }])) as string;
    // the first watch of the task is answered EVENTS_LOST: the session re-injects, re-reads the task and goes on
    fake.fault({ method: 'event.from', action: 'fail', error: ['EVENTS_LOST'] });
    expect(await session.callAsync('VM.start', [vm, false, false])).toBe('');
    expect(await session.call('VM.get_power_state', [vm])).toBe('Running');
    expect(fake.log.some((e) => e.method === 'event.from' && e.outcome === 'EVENTS_LOST')).toBe(true);
    const again = await session.callAsync('VM.start', [vm, false, false]).catch((e: unknown) => e);
    expect((again as XapiError).code).toBe('VM_BAD_POWER_STATE');
    expect((again as XapiError).params).toEqual([vm, 'halted', 'running']);
    expect(toDriverError(again).driverCode).toBe('InvalidState');
    const snap = (await session.callAsync('VM.snapshot', [vm, 'snap'])) as string;
    expect(snap).toMatch(/^OpaqueRef:/);
    expect(Object.keys(fake.dump().task!)).toHaveLength(0);
  });

  it('retries OTHER_OPERATION_IN_PROGRESS', async () => {
    const { fake, session } = await open({}, { busyRetryDelayMs: 10 });
    fake.fault({ method: 'VM.get_all', action: 'fail', error: ['OTHER_OPERATION_IN_PROGRESS', 'VM', 'x'], times: 2 });
    await session.call('VM.get_all');
    expect(fake.log.filter((e) => e.method === 'VM.get_all').map((e) => e.outcome)).toEqual([
      'OTHER_OPERATION_IN_PROGRESS',
      'OTHER_OPERATION_IN_PROGRESS',
      'ok',
    ]);
  });

  it('never hangs: a silent host times out, a closed port is unreachable', async () => {
    const { fake, session } = await open({ hosts: 1 }, { callTimeoutMs: 300 });
    await session.call('VM.get_all');
    fake.fault({ method: 'VM.get_all', action: 'delay', delayMs: 3000 });
    const t0 = Date.now();
    const slow = await session.call('VM.get_all').catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(toDriverError(slow).driverCode).toBe('Timeout');
    const port = fake.port;
    await fake.stop();
    const closed = new XapiPoolSession({
      url: `http://127.0.0.1:${port}`,
      username: 'root',
      password: 'x',
      callTimeoutMs: 300,
    });
    const error = await closed.call('VM.get_all').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XapiTransportError);
    expect(toDriverError(error).driverCode).toBe('Unreachable');
  });

  it('maps every XAPI code the driver names to a typed DriverError', () => {
    const code = (c: string, ...p: string[]) => toDriverError(new XapiError(c, p));
    expect(code('HANDLE_INVALID', 'VM', 'OpaqueRef:x').driverCode).toBe('NotFound');
    expect(code('UUID_INVALID', 'VM', 'u').driverCode).toBe('NotFound');
    expect(code('VM_BAD_POWER_STATE', 'r', 'halted', 'running').driverCode).toBe('InvalidState');
    const memory = code('HOST_NOT_ENOUGH_FREE_MEMORY', '100', '50');
    expect(memory.driverCode).toBe('InsufficientCapacity');
    expect(memory.message).toContain('50 bytes free');
    expect(code('NO_HOSTS_AVAILABLE').driverCode).toBe('InsufficientCapacity');
    expect(code('SESSION_AUTHENTICATION_FAILED', 'root', 'x').driverCode).toBe('AuthFailed');
    expect(code('MESSAGE_METHOD_UNKNOWN', 'VM.x').driverCode).toBe('Unsupported');
    const other = code('OTHER_OPERATION_IN_PROGRESS', 'VM', 'r');
    expect(other.driverCode).toBe('DeviceError');
    expect(other.vendorCode).toBe('OTHER_OPERATION_IN_PROGRESS');
    expect(other).toBeInstanceOf(DriverError);
  });
});
