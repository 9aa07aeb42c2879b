import net from 'node:net';
import { DriverError } from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVcsim, type Vcsim, vcsimBinary, vcsimSkipReason } from '../../testkit/src/harness/vcsim.js';
import { PropertyCollector } from '../src/property-collector.js';
import { leaf, mor } from '../src/soap-xml.js';
import { TaskWaiter } from '../src/task-waiter.js';
import { VimHttp } from '../src/vim-http.js';
import { VimSession } from '../src/vim-session.js';

const bin = vcsimBinary();

async function expectDriverError(p: Promise<unknown>, code: DriverError['driverCode'], vendorCode?: string) {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected DriverError ${code}`).toBeInstanceOf(DriverError);
  expect((error as DriverError).driverCode).toBe(code);
  if (vendorCode !== undefined) expect((error as DriverError).vendorCode).toBe(vendorCode);
  return error as DriverError;
}

describe.skipIf(bin === null)(
  `vSphere session against vcsim ${bin === null ? `(skipped: ${vcsimSkipReason()})` : ''}`,
  () => {
    let sim: Vcsim;
    let tlsSim: Vcsim;
    beforeAll(async () => {
      [sim, tlsSim] = await Promise.all([startVcsim(), startVcsim({ tls: true })]);
    });
    afterAll(async () => {
      await Promise.all([sim?.stop(), tlsSim?.stop()]);
    });

    const session = (s: Vcsim, password = s.password, tls = {}) =>
      new VimSession(new VimHttp({ origin: s.origin, timeoutMs: 5_000, tls }), s.username, password);

    it('negotiates 6.5, reads the service content and logs in once', async () => {
      const s = session(sim);
      await s.open();
      expect(s.apiVersion).toBe('6.5');
      expect(s.content.about.apiType).toBe('VirtualCenter');
      expect(s.content.about.instanceUuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(s.logins).toBe(1);
      await s.close();
      expect(s.loggedIn).toBe(false);
    });

    it('a wrong password is AuthFailed (InvalidLogin), and the password is in no message', async () => {
      const error = await expectDriverError(session(sim, 'not-the-password-x9').open(), 'AuthFailed', 'InvalidLogin');
      expect(JSON.stringify({ m: error.message, d: error.details, v: error.vendorMessage })).not.toContain('x9');
    });

    it('an expired session (terminated by an administrator) logs in again once and replays the call', async () => {
      const victim = session(sim);
      const admin = session(sim);
      await Promise.all([victim.open(), admin.open()]);
      const pc = new PropertyCollector(victim);
      const current = await pc.one(victim.content.sessionManager, ['currentSession']);
      const key = current.get('currentSession')?.children.find((c) => c.name === 'key')?.text;
      expect(key).toBeTruthy();
      await admin.call('TerminateSession', admin.content.sessionManager, [leaf('sessionId', key!)]);
      // A retrieve without a session answers HTTP 200 with NotAuthenticated in missingSet; a method call faults.
      const vms = await pc.list(victim.content.rootFolder, 'VirtualMachine', ['name']);
      expect(vms.length).toBeGreaterThan(0);
      expect(victim.logins).toBe(2);
      const again = (await pc.one(victim.content.sessionManager, ['currentSession'])).get('currentSession');
      await admin.call('TerminateSession', admin.content.sessionManager, [
        leaf('sessionId', again!.children.find((c) => c.name === 'key')!.text),
      ]);
      await victim.call('CreateContainerView', victim.content.viewManager, [
        mor('container', victim.content.rootFolder),
        leaf('type', 'VirtualMachine'),
        leaf('recursive', true),
      ]);
      expect(victim.logins).toBe(3);
      await Promise.all([victim.close(), admin.close()]);
    });

    it('InvalidPowerState from a task error and ManagedObjectNotFound from a SOAP fault are typed', async () => {
      const s = session(sim);
      const pc = new PropertyCollector(s);
      await s.open();
      const waiter = new TaskWaiter(s, pc);
      const [vm] = await pc.list(s.content.rootFolder, 'VirtualMachine', ['runtime.powerState']);
      const power = vm!.props.get('runtime.powerState')!.text;
      const method = power === 'poweredOn' ? 'PowerOnVM_Task' : 'PowerOffVM_Task';
      const task = await s.call(method, vm!.obj);
      const error = await expectDriverError(
        waiter.wait({ type: 'Task', value: task.children[0]!.text }, { operation: method, timeoutMs: 5_000 }),
        'InvalidState',
        'InvalidPowerState',
      );
      expect(error.details?.fault).toMatchObject({ existingState: power });
      expect(waiter.polledWaits).toBe(0);
      await expectDriverError(
        s.call('PowerOnVM_Task', { type: 'VirtualMachine', value: 'vm-no-such' }),
        'NotFound',
        'ManagedObjectNotFound',
      );
      await expectDriverError(pc.one({ type: 'VirtualMachine', value: 'vm-no-such' }, ['name']), 'NotFound');
      await waiter.close();
      await s.close();
    });

    it('an unreachable vCenter fails fast: refused is Unreachable, silence is Timeout within the limit', async () => {
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      await expectDriverError(
        new VimSession(new VimHttp({ origin: `http://127.0.0.1:${port}`, timeoutMs: 2_000 }), 'u', 'p').open(),
        'Unreachable',
      );
      // A server that accepts connections and never answers.
      const sockets: net.Socket[] = [];
      const silent = net.createServer((sock) => sockets.push(sock));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const t0 = Date.now();
      await expectDriverError(
        new VimSession(
          new VimHttp({ origin: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, timeoutMs: 500 }),
          'u',
          'p',
        ).open(),
        'Timeout',
      );
      expect(Date.now() - t0).toBeLessThan(3_000);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    });

    it('a slow vCenter (the simulator delays RetrievePropertiesEx by 1.5 s) times the call out, and the session survives', async () => {
      const slow = await startVcsim({ methodDelay: { RetrievePropertiesEx: 1_500 } });
      try {
        const s = session(slow);
        await s.open();
        const pc = new PropertyCollector(s);
        const t0 = Date.now();
        const error = await s
          .call('RetrievePropertiesEx', s.content.propertyCollector, [], { timeoutMs: 300 })
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ driverCode: 'Timeout' });
        expect(Date.now() - t0).toBeLessThan(1_400);
        const vms = await pc.list(s.content.rootFolder, 'VirtualMachine', ['name']);
        expect(vms.length).toBeGreaterThan(0);
        expect(s.logins).toBe(1);
        await s.close();
      } finally {
        await slow.stop();
      }
    });

    it('TLS is verified: an unknown self-signed certificate and a name it does not cover are AuthFailed; the pinned one works', async () => {
      await expectDriverError(session(tlsSim).open(), 'AuthFailed', 'DEPTH_ZERO_SELF_SIGNED_CERT');
      const pinned = session(tlsSim, tlsSim.password, { ca: tlsSim.certificatePem });
      await pinned.open();
      expect(pinned.logins).toBe(1);
      await pinned.close();
      // The simulator's certificate names 127.0.0.1 and example.com, not localhost.
      const byName = new VimSession(
        new VimHttp({
          origin: `https://localhost:${tlsSim.port}`,
          timeoutMs: 5_000,
          tls: { ca: tlsSim.certificatePem },
        }),
        tlsSim.username,
        tlsSim.password,
      );
      await expectDriverError(byName.open(), 'AuthFailed', 'ERR_TLS_CERT_ALTNAME_INVALID');
      const insecure = session(tlsSim, tlsSim.password, { insecure: true });
      await insecure.open();
      await insecure.close();
    });
  },
);
