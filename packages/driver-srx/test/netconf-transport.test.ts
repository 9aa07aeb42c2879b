/**
 * The driver's NETCONF client against a server the project did not write (Debian's netconfd behind sshd): hello,
 * base:1.1 chunked framing and base:1.0 end-of-message framing, replies, and an rpc-error read with its fields.
 * Then the transport's typed failures against fake-junos: wrong password, nothing listening, no reply in time.
 */
import { DriverError } from '@stratus/core';
import { NetconfSession, srxDriver } from '@stratus/driver-srx';
import { type FakeJunos, startFakeJunos } from '@stratus/testkit/fake-junos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NetconfdPeer, netconfdSkipReason, startNetconfd } from './netconfd-peer.js';

const skip = netconfdSkipReason();
if (skip !== null && process.env.CI === 'true') throw new Error(skip);

describe.skipIf(skip !== null)('driver NETCONF client against Debian netconfd', () => {
  let peer: NetconfdPeer;
  beforeAll(async () => {
    peer = await startNetconfd();
  });
  afterAll(async () => {
    await peer?.stop();
  });
  const target = (base11: boolean) => ({
    host: '127.0.0.1',
    port: peer.port,
    username: peer.username,
    privateKey: peer.privateKey,
    hostVerifier: () => true,
    connectTimeoutMs: 10_000,
    base11,
  });

  for (const base11 of [true, false]) {
    it(`exchanges hellos and RPCs with base:${base11 ? '1.1 chunked' : '1.0 end-of-message'} framing, and reads rpc-errors`, async () => {
      const s = await NetconfSession.open(target(base11));
      try {
        expect(s.sessionId).toMatch(/^\d+$/);
        expect(s.capabilities).toContain('urn:ietf:params:netconf:base:1.1');
        const got = await s.rpc('<get-config><source><running/></source></get-config>', 10_000);
        expect(got.errors).toEqual([]);
        expect(got.root.elements.map((x) => x.name)).toContain('data');
        // twice more: message-ids advance and framing stays aligned
        for (let i = 0; i < 2; i++)
          expect((await s.rpc('<get-config><source><running/></source></get-config>', 10_000)).errors).toEqual([]);
        const bad = await s.rpc('<no-such-operation/>', 10_000);
        expect(bad.errors.length).toBeGreaterThan(0);
        expect(bad.errors[0]).toMatchObject({ type: 'rpc', severity: 'error' });
        expect(bad.errors[0]?.tag).toMatch(/operation-not-supported|unknown-element/);
      } finally {
        await s.close();
      }
      expect(s.closed).toBe(true);
    });
  }
});

describe('driver NETCONF transport failures are typed', () => {
  let fake: FakeJunos;
  beforeAll(async () => {
    fake = await startFakeJunos({ base11: false });
  });
  afterAll(async () => {
    await fake.close();
  });
  const config = (password: string, port = fake.port) => ({
    ip: fake.host,
    credentials: { username: fake.username, password },
    publicInterface: 'ge-0/0/1',
    privateInterface: 'ge-0/0/2',
    timeoutMs: 500,
    details: { port: String(port) },
  });

  it('refuses a wrong password with AuthFailed', async () => {
    const err = await srxDriver({ hostKey: { insecureSkipVerify: true } })
      .open(config('wrong'))
      .catch((e: unknown) => e);
    expect(DriverError.is(err, 'AuthFailed')).toBe(true);
  });

  it('reports a closed port as Unreachable', async () => {
    const err = await srxDriver({ hostKey: { insecureSkipVerify: true } })
      .open(config(fake.password, 1))
      .catch((e: unknown) => e);
    expect(DriverError.is(err, 'Unreachable')).toBe(true);
  });

  it('refuses an unknown host key', async () => {
    const err = await srxDriver({ hostKey: { sha256ByHost: { [fake.host]: 'AAAA' } } })
      .open(config(fake.password))
      .catch((e: unknown) => e);
    expect(DriverError.is(err)).toBe(true);
    expect(DriverError.is(err, 'AuthFailed', 'Unreachable')).toBe(true);
  });

  it('times out a call the device does not answer, on base:1.0 framing', async () => {
    const device = await srxDriver({ hostKey: { insecureSkipVerify: true } }).open(config(fake.password));
    expect(fake.dump().sessions[0]?.framing).toBe('1.0');
    fake.injectFault({ rpc: 'get-firewall-filter-information', kind: 'delay', delayMs: 2_000 });
    const err = await device.getUsage().catch((e: unknown) => e);
    expect(DriverError.is(err, 'Timeout')).toBe(true);
    // the next call works on a new session
    expect(await device.getUsage()).toEqual([]);
    await device.close();
  });

  it('fails a commit Junos refuses with Junos message, leaving the running configuration alone', async () => {
    const s = await NetconfSession.open({
      host: fake.host,
      port: fake.port,
      username: fake.username,
      password: fake.password,
      hostVerifier: () => true,
      connectTimeoutMs: 5_000,
    });
    await s.rpc('<open-configuration><private/></open-configuration>', 5_000);
    await s.rpc(
      '<load-configuration action="merge" format="xml"><configuration><security><policies><policy><from-zone-name>untrust</from-zone-name><to-zone-name>trust</to-zone-name><policy><name>p</name><match><source-address>any</source-address><destination-address>any</destination-address><application>missing-app</application></match><then><permit/></then></policy></policy></policies></security></configuration></load-configuration>',
      5_000,
    );
    const reply = await s.rpc('<commit-configuration/>', 5_000);
    expect(reply.errors.map((x) => x.message)).toEqual([
      "application 'missing-app' is not defined",
      'configuration check-out failed',
    ]);
    await s.close();
    expect(fake.dump().commits).toBe(0);
  });
});
