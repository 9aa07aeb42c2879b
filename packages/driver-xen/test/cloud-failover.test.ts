/**
 * Through `createCloud` against fake-xapi: a deployment survives a session expiring in the middle of it (one re-login,
 * the call replayed) and the pool master dying in the middle of it (the driver finds the new master by probing the
 * members; core re-plans the start that failed on the lost host onto the other one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOUD_CONFORMANCE_STEPS,
  type CloudConformanceSession,
  openCloudConformance,
} from '../../testkit/src/cloud-conformance.js';
import { xenFixture } from './xen-fixture.js';

describe('xen through createCloud: session expiry and master failover during a deploy', () => {
  let session: CloudConformanceSession;
  let fixture: Awaited<ReturnType<typeof xenFixture>>;
  beforeAll(async () => {
    fixture = await xenFixture();
    session = await openCloudConformance(fixture);
    // the cloud up to an enabled zone, as the conformance suite builds it
    for (const step of CLOUD_CONFORMANCE_STEPS.slice(0, 5)) {
      const result = await session.run(step);
      expect(result.status, `${step.name}: ${result.detail}`).toBe('passed');
    }
  });
  afterAll(async () => {
    await session?.close();
  });

  const deploy = (name: string) => ({
    name,
    async run(s: Parameters<(typeof CLOUD_CONFORMANCE_STEPS)[number]['run']>[0]) {
      const vm = await s.cloud.vms.deployAndWait({
        zoneId: s.zoneId,
        serviceOfferingId: s.serviceOfferingId,
        templateId: s.templateId,
      });
      expect(vm.state).toBe('Running');
      deployed.push({ name: vm.instanceName, hostId: vm.hostId });
    },
  });
  const deployed: Array<{ name: string; hostId: number | null | undefined }> = [];

  it('deploys while the session expires mid-operation', async () => {
    const { fake } = fixture;
    fake.fault({ method: 'VBD.create', action: 'expireSession' });
    const result = await session.run(deploy('deploy with session expiry'));
    expect(result.status, `${result.detail}`).toBe('passed');
    const outcomes = fake.log.map((e) => `${e.method} ${e.outcome}`);
    const expired = outcomes.indexOf('VBD.create SESSION_INVALID');
    expect(expired).toBeGreaterThan(0);
    expect(outcomes[expired + 1]).toBe('session.login_with_password ok');
    const vm = Object.values(fake.dump().VM!).find((v) => v.name_label === deployed[0]!.name);
    expect(vm?.power_state).toBe('Running');
  });

  it('deploys while the pool master dies mid-operation', async () => {
    const { fake } = fixture;
    const before = fake.master().address;
    fake.fault({ method: 'VIF.create', action: 'failMaster' });
    const result = await session.run(deploy('deploy with master failover'));
    expect(result.status, `${result.detail}`).toBe('passed');
    expect(fake.master().address).not.toBe(before);
    const vm = Object.values(fake.dump().VM!).find((v) => v.name_label === deployed[1]!.name);
    expect(vm?.power_state).toBe('Running');
    // the call in flight when the master died was dropped
    expect(fake.log.some((e) => e.method === 'VIF.create' && e.outcome === 'dropped')).toBe(true);
    // the lost host pings unreachable through the new master; the survivor is up
    const [lost, survivor] = fixture.fake.hostRefs.map((r) => ({ guid: String(fake.db.get('host', r).uuid) }));
    expect((await fixture.driver.ping(lost!)).reachable).toBe(false);
    expect((await fixture.driver.ping(survivor!)).reachable).toBe(true);
  });
});
