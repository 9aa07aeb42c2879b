import { describe, expect, it } from 'vitest';
import { issueCaller } from '../../src/context.js';
import { InvalidParameterError, ResourceInUseError } from '../../src/errors.js';
import { createNetworkLayer } from '../../src/network/network-layer.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { basicZone, openCloud, pod } from '../rules/rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** A basic zone with the SG shared network (pod range 192.168.10.100–150) and accounts alice, bob. */
async function basicWorld() {
  const cloud = await openCloud();
  const zone = await basicZone(cloud, { securityGroupEnabled: true });
  const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
  for (const trafficType of ['Guest', 'Management'] as const)
    await cloud.physicalNetworks.addTrafficType(pn.id, { trafficType, labels: { Simulator: 'cloudbr0' } });
  await cloud.physicalNetworks.enable(pn.id);
  const p = await pod(cloud, zone.id);
  const net = createNetworkLayer(cloud.context);
  const offering = await net.offerings.getByName('DefaultSharedNetworkOfferingWithSGService');
  const shared = await net.networks.create({
    zoneId: zone.id,
    name: 'guest',
    networkOfferingId: offering.id,
    gateway: '192.168.10.1',
    netmask: '255.255.255.0',
    startIp: '192.168.10.100',
    endIp: '192.168.10.150',
    podId: p.id,
  });
  const accounts: number[] = [];
  for (const name of ['alice', 'bob']) {
    const { account } = await cloud.tenancy.createAccount({
      accountName: name,
      type: 'NORMAL',
      user: { username: name, password: 'secret-pass-1' },
    });
    accounts.push(account.id);
  }
  const as = (accountId: number) => net.as(issueCaller({ accountId, userId: accountId, domainId: 1, accountType: 0 }));
  let n = 0;
  /** Deploys a VM: NIC on the shared network, groups joined, started in the pod. */
  const deploy = async (accountId: number, groupIds?: number[]) => {
    n++;
    const row = await cloud.store.db
      .insertInto('vmInstances')
      .values({
        uuid: `vm-${n}`,
        created: 1,
        removed: null,
        instanceName: `i-${n}`,
        hostName: `vm${n}`,
        displayName: `vm${n}`,
        type: 'User',
        accountId,
        domainId: 1,
        zoneId: zone.id,
        serviceOfferingId: 1,
        templateId: null,
        hypervisorType: 'Simulator',
        hostId: null,
        lastHostId: null,
        podIdToDeployIn: p.id,
        haEnabled: 0,
        state: 'Stopped',
        powerState: 'PowerOff',
        details: '{}',
        updatedCount: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const vmId = Number(row.id);
    const nic = await cloud.context.write(async (w) => {
      await net.securityGroups.joinAtDeploy(w, vmId, groupIds);
      return net.networks.allocateNic(w, { vmId, networkId: shared.id, isDefault: true });
    });
    const started = await net.networks.startNic(nic.id, { podId: p.id });
    return { vmId, ip: started.ip4Address as string };
  };
  return { cloud, zone, net, shared, accounts, as, deploy };
}

/** spec/networking.md §9 and pitfall 11. */
describe('security groups', () => {
  it('a shared network in a basic zone is Setup with per-pod addresses given after placement', async () => {
    const w = await basicWorld();
    expect(w.shared).toMatchObject({ state: 'Setup', guestType: 'Shared', guruName: 'DirectPodBasedNetworkGuru' });
    const vm = await w.deploy(w.accounts[0]!);
    expect(vm.ip).toBe('192.168.10.100');
  });

  it('the default group denies all ingress and allows all egress', async () => {
    const w = await basicWorld();
    const vm = await w.deploy(w.accounts[0]!);
    const groups = await w.net.securityGroups.groupsOf(vm.vmId);
    expect(groups.map((g) => g.name)).toEqual(['default']);
    expect(await w.net.securityGroups.effectiveRules(vm.vmId)).toEqual({
      vmId: vm.vmId,
      addresses: [vm.ip],
      ingress: [],
      egress: { allowAll: true, rules: [], alwaysAllowed: ['dns', 'dhcp'] },
    });
  });

  it('the first egress rule flips egress to an allow-list; DNS and DHCP still pass', async () => {
    const w = await basicWorld();
    const alice = w.as(w.accounts[0]!);
    const vm = await w.deploy(w.accounts[0]!);
    const [def] = await alice.securityGroups.list(w.accounts[0]!);
    await alice.securityGroups.authorizeEgress(def!.id, { protocol: 'tcp', startPort: 443, cidrs: ['0.0.0.0/0'] });
    const eff = await alice.securityGroups.effectiveRules(vm.vmId);
    expect(eff.egress.allowAll).toBe(false);
    expect(eff.egress.rules).toMatchObject([{ protocol: 'tcp', startPort: 443, endPort: 443, cidrs: ['0.0.0.0/0'] }]);
    expect(eff.egress.alwaysAllowed).toEqual(['dns', 'dhcp']);
  });

  it("rules naming another account's group follow that group's membership; edits reach stopped members", async () => {
    const w = await basicWorld();
    const [aliceId, bobId] = w.accounts as [number, number];
    const bob = w.as(bobId);
    const alice = w.as(aliceId);
    const web = await alice.securityGroups.create({ name: 'web' });
    const clients = await bob.securityGroups.create({ name: 'clients' });
    await alice.securityGroups.authorizeIngress(web.id, {
      protocol: 'tcp',
      startPort: 80,
      endPort: 81,
      groups: [{ accountId: bobId, name: 'clients' }],
    });
    const server = await w.deploy(aliceId, [web.id]);
    expect((await alice.securityGroups.effectiveRules(server.vmId)).ingress).toMatchObject([
      { protocol: 'tcp', startPort: 80, endPort: 81, cidrs: [] },
    ]);
    const c1 = await w.deploy(bobId, [clients.id]);
    const c2 = await w.deploy(bobId, [clients.id]);
    const eff = await alice.securityGroups.effectiveRules(server.vmId);
    expect(eff.ingress[0]!.cidrs).toEqual([`${c1.ip}/32`, `${c2.ip}/32`]);
    // A change to "clients" affects the server (rules name it) and the clients themselves.
    expect(await alice.securityGroups.affectedVms(clients.id)).toEqual(
      [server.vmId, c1.vmId, c2.vmId].sort((a, b) => a - b),
    );
    // Stop the server: its effective set still follows rule edits.
    const nic = (await w.net.networks.listNics({ vmId: server.vmId }))[0]!;
    await w.net.networks.stopNic(nic.id);
    await alice.securityGroups.authorizeIngress(web.id, { protocol: 'icmp', cidrs: ['10.0.0.0/8'] });
    expect((await alice.securityGroups.effectiveRules(server.vmId)).ingress.map((r) => r.protocol)).toEqual([
      'tcp',
      'icmp',
    ]);
  });

  it("membership is fixed at deploy; groups must be the VM's account's", async () => {
    const w = await basicWorld();
    const [aliceId, bobId] = w.accounts as [number, number];
    const vm = await w.deploy(aliceId);
    const extra = await w.as(aliceId).securityGroups.create({ name: 'extra' });
    await expectRejected(
      w.cloud,
      () => w.cloud.context.write((wr) => w.net.securityGroups.joinAtDeploy(wr, vm.vmId, [extra.id])),
      invalid('vmId', vm.vmId),
    );
    const bobs = await w.as(bobId).securityGroups.create({ name: 'bobs' });
    const row = await w.cloud.store.db
      .selectFrom('vmInstances')
      .select('id')
      .where('accountId', '=', aliceId)
      .executeTakeFirstOrThrow();
    await w.cloud.store.db.deleteFrom('securityGroupMembers').where('vmId', '=', Number(row.id)).execute();
    await expectRejected(
      w.cloud,
      () => w.cloud.context.write((wr) => w.net.securityGroups.joinAtDeploy(wr, vm.vmId, [bobs.id])),
      invalid('securityGroupIds', bobs.id),
    );
  });

  it('rule input: either CIDRs or groups; valid protocol and ports; the default group and used groups are not deletable', async () => {
    const w = await basicWorld();
    const aliceId = w.accounts[0]!;
    const alice = w.as(aliceId);
    const g = await alice.securityGroups.create({ name: 'g' });
    await expectRejected(
      w.cloud,
      () => alice.securityGroups.authorizeIngress(g.id, { protocol: 'tcp', startPort: 22 }),
      invalid('cidrs', undefined),
    );
    await expectRejected(
      w.cloud,
      () => alice.securityGroups.authorizeIngress(g.id, { protocol: 'gre' as never, cidrs: ['0.0.0.0/0'] }),
      invalid('protocol', 'gre'),
    );
    await expectRejected(
      w.cloud,
      () => alice.securityGroups.authorizeIngress(g.id, { protocol: 'tcp', startPort: 0, cidrs: ['0.0.0.0/0'] }),
      invalid('startPort', 0),
    );
    await w.deploy(aliceId, [g.id]);
    await expectRejected(w.cloud, () => alice.securityGroups.delete(g.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: g.id,
    });
    const def = await w.cloud.context.write((wr) => w.net.securityGroups.ensureDefault(wr, aliceId));
    await expectRejected(w.cloud, () => alice.securityGroups.delete(def.id), invalid('id', def.id));
  });
});
