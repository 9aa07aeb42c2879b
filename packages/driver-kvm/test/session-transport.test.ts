import { existsSync, readdirSync } from 'node:fs';
import { DriverError, InvalidParameterError } from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { type KvmDriver, kvmDriver } from '../src/index.js';
import type { SessionVirshTransport } from '../src/session-transport.js';
import { SshVirshTransport } from '../src/ssh-transport.js';
import { sshTarget, tinyVm } from './kvm-fixtures.js';

const facts = kvmFacts();

/** Settles `p` into a label, or 'hung' after `ms`. */
async function outcome(p: Promise<unknown>, ms = 20_000): Promise<string> {
  return Promise.race([
    p.then(
      () => 'completed',
      (e: unknown) => (e instanceof DriverError ? `typed:${e.driverCode}` : `untyped:${String(e)}`),
    ),
    new Promise<string>((res) => setTimeout(() => res('hung'), ms)),
  ]);
}

const tempFiles = (): string[] => readdirSync('/tmp').filter((f) => f.startsWith('stratus-virsh.'));

describe.skipIf(facts === null)(
  `kvm session transport over a real sshd ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
  () => {
    let d: KvmDriver;
    let host: { guid: string };
    let t: SessionVirshTransport;
    const target = () => sshTarget(facts!);
    const vm = (name: string) => tinyVm(name);

    beforeAll(async () => {
      d = kvmDriver({ hostKey: { knownHostsFile: facts!.knownHostsFile }, domainType: 'test', vncPort: 5905 });
      const [r] = await d.connect(target());
      host = { guid: r!.guid };
      t = d.transportOf(host) as SessionVirshTransport;
    });
    afterAll(async () => {
      await d?.close();
    });

    it('is the default: one connection, one virsh process for every command, concurrent calls queued in order', async () => {
      expect(t.virshMode).toBe('session');
      const pid = t.sessionPid;
      expect(pid).toBeGreaterThan(0);
      const words = Array.from({ length: 12 }, (_, i) => `w${i}-${'x'.repeat(i * 50)}`);
      const outs = await Promise.all(words.map((w) => t.virsh(['echo', '--', w])));
      expect(outs.map((o) => o.trim())).toEqual(words);
      for (let i = 0; i < 5; i++) await d.ping(host);
      expect(t.sessionPid).toBe(pid);
      expect(t.sessionsOpened).toBe(1);
      expect(t.session.connects).toBe(1);
    });

    it('gives the same output as a virsh process per command, and typed errors that leave the session usable', async () => {
      const exec = new SshVirshTransport(t.session, facts!.libvirtUri, t.scope);
      expect(await t.virsh(['nodeinfo'])).toBe(await exec.virsh(['nodeinfo']));
      expect(await t.virsh(['dumpxml', '--', 'test'])).toBe(await exec.virsh(['dumpxml', '--', 'test']));
      expect(await t.listDomains()).toEqual(await exec.listDomains());
      const err = await t.virsh(['domstate', '--', 'i-sess-no-such-vm']).catch((e: unknown) => e);
      expect(DriverError.is(err, 'NotFound')).toBe(true);
      expect((err as DriverError).vendorMessage).toMatch(/i-sess-no-such-vm/);
      expect(await t.domainState('test')).toBe('running');
      expect(t.sessionsOpened).toBe(1);
    });

    it('define goes through the session via a private temp file that is removed afterwards', async () => {
      const before = tempFiles();
      const spec = vm(`i-sess-def-${process.pid}`);
      await d.startVm(host, spec);
      expect(await d.getVmState(host, spec.name)).toBe('running');
      await d.destroyVm(host, spec.name);
      expect(tempFiles()).toEqual(before);
      expect(t.sessionsOpened).toBe(1);
    });

    it('hostile names reach virsh as exact bytes and leave the host untouched; control characters are refused', async () => {
      const marker = `stratus-sess-pwned-${process.pid}`;
      const hostile = [
        `i-s'"; touch ${marker}; $(touch ${marker}2) \`touch ${marker}3\``,
        `i-s\\'#x; echo --err pwned`,
        `i-s" 'a' \\"; quit`,
        'i-s ünïcødé',
      ];
      for (const name of hostile) expect((await t.virsh(['echo', '--', name])).trim()).toBe(name);
      for (const name of hostile.slice(0, 3)) {
        await d.startVm(host, vm(name));
        expect(await d.getVmState(host, name)).toBe('running');
        expect((await d.ping(host)).vmStates[name]?.powerState).toBe('PowerOn');
        await d.destroyVm(host, name);
        expect(await d.getVmState(host, name)).toBe('missing');
      }
      const victim = vm(`i-sess-victim-${process.pid}`);
      await d.startVm(host, victim);
      for (const bad of [
        `x\ndestroy ${victim.name}`,
        `x\rdestroy ${victim.name}`,
        `x\u0015destroy ${victim.name}`,
        'x\ty',
      ]) {
        await expect(t.virsh(['domstate', '--', bad])).rejects.toBeInstanceOf(InvalidParameterError);
        await expect(d.startVm(host, vm(bad))).rejects.toBeInstanceOf(InvalidParameterError);
      }
      expect(await d.getVmState(host, victim.name)).toBe('running');
      await d.destroyVm(host, victim.name);
      for (const f of [marker, `${marker}2`, `${marker}3`]) {
        expect(existsSync(`/home/${facts!.sshUser}/${f}`)).toBe(false);
        expect(existsSync(f)).toBe(false);
      }
      expect(t.sessionsOpened).toBe(1);
    });

    it('a command past its deadline fails Timeout, a queued one expires in the queue, an abort is Timeout; the next opens a new session', async () => {
      const opened = t.sessionsOpened;
      const blocking = t.virsh(['event', '--all', '--loop'], { timeoutMs: 800 });
      const queued = t.virsh(['list', '--name'], { timeoutMs: 300 });
      expect(await outcome(queued, 5_000)).toBe('typed:Timeout');
      expect(await outcome(blocking, 5_000)).toBe('typed:Timeout');
      expect(await t.domainState('test')).toBe('running');
      expect(t.sessionsOpened).toBe(opened + 1);
      const ac = new AbortController();
      const aborted = t.virsh(['event', '--all', '--loop'], { signal: ac.signal });
      setTimeout(() => ac.abort(), 200);
      expect(await outcome(aborted, 5_000)).toBe('typed:Timeout');
      expect(await t.domainState('test')).toBe('running');
      expect(t.sessionsOpened).toBe(opened + 2);
    });

    it('virsh killed mid-command: the command fails Unreachable at once and the next one opens a new session', async () => {
      await t.domainState('test');
      const pid = t.sessionPid!;
      const opened = t.sessionsOpened;
      const inflight = t.virsh(['event', '--all', '--loop']);
      setTimeout(() => process.kill(pid, 'SIGKILL'), 100);
      expect(await outcome(inflight, 5_000)).toBe('typed:Unreachable');
      expect(await t.domainState('test')).toBe('running');
      expect(t.sessionsOpened).toBe(opened + 1);
      expect(t.sessionPid).not.toBe(pid);
      // mid-operation through the driver: completes (retried once on a new session) or fails typed, never hangs
      const spec = vm(`i-sess-kill-${process.pid}`);
      const op = d.startVm(host, spec);
      const victimPid = t.sessionPid!;
      setTimeout(() => process.kill(victimPid, 'SIGKILL'), 5);
      expect(['completed', 'typed:Unreachable']).toContain(await outcome(op));
      expect(await d.getVmState(host, spec.name)).toMatch(/running|missing|stopped/);
      await d.destroyVm(host, spec.name);
      expect(await d.getVmState(host, spec.name)).toBe('missing');
    });

    it('SSH connection dropped mid-command: Unreachable at once, then reconnect and a new session', async () => {
      await t.domainState('test');
      const connects = t.session.connects;
      const opened = t.sessionsOpened;
      const inflight = t.virsh(['event', '--all', '--loop']);
      setTimeout(() => t.session.dropConnection(), 100);
      expect(await outcome(inflight, 5_000)).toBe('typed:Unreachable');
      expect(await t.domainState('test')).toBe('running');
      expect(t.session.connects).toBe(connects + 1);
      expect(t.sessionsOpened).toBe(opened + 1);
      const spec = vm(`i-sess-drop-${process.pid}`);
      const op = d.startVm(host, spec);
      setTimeout(() => t.session.dropConnection(), 5);
      expect(['completed', 'typed:Unreachable']).toContain(await outcome(op));
      expect(await d.getVmState(host, spec.name)).toMatch(/running|missing|stopped/);
      await d.destroyVm(host, spec.name);
    });
  },
);
