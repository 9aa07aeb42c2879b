import { existsSync } from 'node:fs';
import { DriverError } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { kvmDriver } from '../src/index.js';
import type { SshVirshTransport } from '../src/ssh-transport.js';
import { sshTarget, tinyVm } from './kvm-fixtures.js';

const facts = kvmFacts();

describe.skipIf(facts === null)(
  `kvm driver over a real sshd ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
  () => {
    const target = () => sshTarget(facts!);
    const vm = (name: string) => tinyVm(name);

    it('refuses an unknown host key by default, accepts a pinned fingerprint', async () => {
      const strict = kvmDriver({ hostKey: { knownHostsFile: '/dev/null' } });
      const err = await strict.connect(target()).catch((e: unknown) => e);
      expect(DriverError.is(err, 'AuthFailed')).toBe(true);
      const pinned = kvmDriver({ hostKey: { fingerprint: facts!.hostKeyFingerprint }, domainType: 'test' });
      const [r] = await pinned.connect(target());
      expect(r?.cpus).toBeGreaterThan(0);
      await pinned.close();
    });

    it('a hostile VM name leaves the host untouched', async () => {
      const d = kvmDriver({ hostKey: { knownHostsFile: facts!.knownHostsFile }, domainType: 'test', vncPort: 5903 });
      const [r] = await d.connect(target());
      const host = { guid: r!.guid };
      const marker = `stratus-pwned-${process.pid}`; // relative: a shell would create it in the user's home
      const name = `i-h'"; touch ${marker}; $(touch ${marker}2) \`touch ${marker}3\``;
      await d.startVm(host, vm(name));
      expect(await d.getVmState(host, name)).toBe('running');
      await d.destroyVm(host, name);
      for (const f of [marker, `${marker}2`, `${marker}3`]) {
        expect(existsSync(`/home/${facts!.sshUser}/${f}`)).toBe(false);
        expect(existsSync(f)).toBe(false);
      }
      await d.close();
    });

    it('one kept connection; a dropped connection mid-operation reconnects and never hangs', async () => {
      const d = kvmDriver({ hostKey: { knownHostsFile: facts!.knownHostsFile }, domainType: 'test', vncPort: 5904 });
      const [r] = await d.connect(target());
      const host = { guid: r!.guid };
      const t = d.transportOf(host) as SshVirshTransport;
      for (let i = 0; i < 5; i++) await d.ping(host);
      expect(t.session.connects).toBe(1);
      const spec = vm(`i-drop-${process.pid}`);
      const op = d.startVm(host, spec);
      setTimeout(() => t.session.dropConnection(), 5);
      const outcome = await Promise.race([
        op.then(
          () => 'completed',
          (e: unknown) => (e instanceof DriverError ? `typed:${e.driverCode}` : 'untyped'),
        ),
        new Promise((res) => setTimeout(() => res('hung'), 20_000)),
      ]);
      expect(['completed', 'typed:Unreachable']).toContain(outcome);
      expect(await d.getVmState(host, spec.name)).toMatch(/running|missing|stopped/);
      expect(t.session.connects).toBeGreaterThanOrEqual(2);
      await d.destroyVm(host, spec.name);
      await d.close();
    });
  },
);
