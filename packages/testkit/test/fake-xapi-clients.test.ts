/**
 * fake-xapi held against two XAPI clients it did not write (drivers.md §4.9): the npm `xen-api` client (JSON-RPC,
 * Xen Orchestra's) and the classic `XenAPI.py` (XML-RPC, Debian's python3-os-xenapi) run the same scenario — log in
 * (through a pool member that answers HOST_IS_SLAVE), list, start a VM as a task watched through events, start it
 * again (VM_BAD_POWER_STATE [ref, 'halted', 'running']), create a VLAN network — and must agree with the fake's state.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type FakeXapi, startFakeXapi } from '@stratus/testkit/fake-xapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Xapi } from 'xen-api';

const XENAPI_PY = '/usr/lib/python3/dist-packages/os_xenapi/client/XenAPI.py';
const SCRIPT = fileURLToPath(new URL('./fixtures/xenapi-scenario.py', import.meta.url));
const haveXenApiPy = existsSync(XENAPI_PY);

let fake: FakeXapi;
beforeEach(async () => {
  fake = await startFakeXapi({ hosts: 2 });
});
afterEach(async () => {
  await fake.stop();
});

function vmsNamed(name: string) {
  return Object.entries(fake.dump().VM!).filter(([, r]) => r.name_label === name);
}

describe('fake-xapi against the npm xen-api client (JSON-RPC)', () => {
  it('runs the scenario and agrees with the fake', async () => {
    // through the slave: the client follows HOST_IS_SLAVE to the master
    const xapi = new Xapi({
      url: fake.hostUrls[1]!,
      auth: { user: 'root', password: 'xenroot' },
      watchEvents: ['task'],
    });
    await xapi.connect();
    try {
      const handshake = fake.log.map((e) => `${e.address} ${e.method} ${e.outcome}`);
      expect(handshake.slice(0, 4)).toEqual([
        '127.0.0.2 session.login_with_password HOST_IS_SLAVE',
        '127.0.0.1 session.login_with_password ok',
        '127.0.0.1 pool.get_all_records ok',
        '127.0.0.1 system.listMethods ok',
      ]);
      const hosts = (await xapi.call('host.get_all_records')) as Record<string, { name_label: string }>;
      expect(
        Object.values(hosts)
          .map((h) => h.name_label)
          .sort(),
      ).toEqual(['xenhost1', 'xenhost2']);

      const [tmpl] = (await xapi.call('VM.get_by_name_label', 'Debian Bookworm 12')) as string[];
      const rec = (await xapi.call('VM.get_record', tmpl)) as Record<string, unknown>;
      const {
        disks: _d,
        default_template: _t,
        mac_seed: _m,
        ...otherConfig
      } = rec.other_config as Record<string, string>;
      const vm = (await xapi.call('VM.create', {
        ...rec,
        is_a_template: false,
        name_label: 'xen-api-vm',
        other_config: otherConfig,
      })) as string;
      // callAsync: Async.VM.start, the task watched through event.from, destroyed once settled
      await xapi.callAsync('VM.start', vm, false, false);
      expect(await xapi.call('VM.get_power_state', vm)).toBe('Running');
      const second = await xapi.call('VM.start', vm, false, false).then(
        () => undefined,
        (e: { code: string; params: string[] }) => e,
      );
      expect(second?.code).toBe('VM_BAD_POWER_STATE');
      expect(second?.params).toEqual([vm, 'halted', 'running']);
      expect(fake.log.some((e) => e.method === 'event.inject')).toBe(true);
      expect(fake.log.some((e) => e.method === 'event.from' && e.outcome === 'ok')).toBe(true);
      expect(fake.log.some((e) => e.method === 'Async.VM.start')).toBe(true);

      const [guest] = (await xapi.call('network.get_by_name_label', 'cloud-guest')) as string[];
      const guestUuid = (await xapi.call('network.get_uuid', guest)) as string;
      const net = (await xapi.call('network.create', {
        name_label: `VLAN-${guestUuid}-312`,
        name_description: 'vlan 312',
        other_config: {},
      })) as string;
      for (const pif of (await xapi.call('network.get_PIFs', guest)) as string[])
        await xapi.call('VLAN.create', pif, '312', net);
      const vlanPifs = (await xapi.call('network.get_PIFs', net)) as string[];
      expect(vlanPifs).toHaveLength(2);

      const dump = fake.dump();
      expect(vmsNamed('xen-api-vm')).toHaveLength(1);
      expect(dump.VM![vm]!.power_state).toBe('Running');
      expect(Object.values(dump.VLAN!).map((v) => v.tag)).toEqual([312, 312]);
      expect(Object.values(dump.task!)).toHaveLength(0); // destroyed once settled

      const badLogin = await new Xapi({ url: fake.url, auth: { user: 'root', password: 'nope' }, watchEvents: false })
        .connect()
        .then(
          () => undefined,
          (e: { code: string }) => e.code,
        );
      expect(badLogin).toBe('SESSION_AUTHENTICATION_FAILED');
    } finally {
      await xapi.disconnect();
    }
  });

  it('switches to XML-RPC for good against an old host whose /jsonrpc answers text/xml', async () => {
    await fake.stop();
    fake = await startFakeXapi({ hosts: 1, jsonRpc: false });
    const xapi = new Xapi({ url: fake.url, auth: { user: 'root', password: 'xenroot' }, watchEvents: false });
    await xapi.connect();
    try {
      const vms = (await xapi.call('VM.get_all')) as string[];
      expect(vms.length).toBeGreaterThan(0);
      expect(fake.log.map((e) => `${e.transport} ${e.method} ${e.outcome}`).slice(0, 2)).toEqual([
        'json-rpc session.login_with_password unsupported',
        'xml-rpc session.login_with_password ok',
      ]);
      // for good: no JSON-RPC attempt after the first
      expect(fake.log.slice(1).every((e) => e.transport === 'xml-rpc')).toBe(true);
    } finally {
      await xapi.disconnect();
    }
  });
});

describe.skipIf(!haveXenApiPy && process.env.CI !== 'true')(
  `fake-xapi against XenAPI.py (XML-RPC)${haveXenApiPy ? '' : ' — skipped: python3-os-xenapi is not installed'}`,
  () => {
    it('runs the scenario and agrees with the fake', async () => {
      const { stdout } = await promisify(execFile)('/usr/bin/python3', [SCRIPT, `${fake.url}/`, 'root', 'xenroot'], {
        timeout: 30_000,
      });
      const out = JSON.parse(stdout) as Record<string, unknown>;
      expect(out.badLogin).toEqual(['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure']);
      expect(out.apiVersion).toBe('2.21');
      expect(out.masterAddress).toBe('127.0.0.1');
      expect(out.hosts).toEqual(['xenhost1', 'xenhost2']);
      expect(out.templateCount).toBe(4);
      expect(out.taskStatus).toBe('success');
      expect(out.taskResult).toBe('');
      expect(out.powerState).toBe('Running');
      expect(out.secondStart).toEqual(['VM_BAD_POWER_STATE', out.vm, 'halted', 'running']);
      expect(out.vlanTags).toEqual(['313', '313']);
      expect(out.vlanNetworkPifs).toBe(2);
      expect(out.incompleteVbd).toEqual(['FIELD_MISSING', 'empty']);
      // every call was XML-RPC; the fake's state is what the client saw
      expect(new Set(fake.log.map((e) => e.transport))).toEqual(new Set(['xml-rpc']));
      const dump = fake.dump();
      expect(dump.VM![out.vm as string]!.power_state).toBe('Running');
      expect(vmsNamed('xenapi-py-vm')).toHaveLength(1);
      expect(Object.values(dump.task!)).toHaveLength(0);
      expect(fake.sessionCount()).toBe(0);
    });
  },
);
