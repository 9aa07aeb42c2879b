import { describe, expect, it } from 'vitest';
import { DuplicateError, InvalidParameterError, ResourceInUseError } from '../../src/errors.js';
import { NetworkRuleConflictError } from '../../src/network/network-rule-conflict-error.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { networkWorld } from './network-world.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

async function vpcWorld() {
  const w = await networkWorld();
  const alice = w.as(w.account.id);
  const vpc = await alice.vpcs.create({ zoneId: w.zone.id, name: 'vpc1', cidr: '10.0.0.0/16' });
  const lbOffering = await w.net.offerings.getByName('DefaultIsolatedNetworkOfferingForVpcNetworks');
  const noLb = await w.net.offerings.getByName('DefaultIsolatedNetworkOfferingForVpcNetworksNoLB');
  return { ...w, alice, vpc, lbOffering, noLb };
}

/** spec/networking.md §11 and pitfall 15. */
describe('VPC', () => {
  it('takes its source NAT IP at creation; the super CIDR must be RFC 1918', async () => {
    const w = await vpcWorld();
    const snat = await w.cloud.store.db.selectFrom('ipAllocations').selectAll().where('vpcId', '=', w.vpc.id).execute();
    expect(snat).toMatchObject([{ sourceNat: 1, state: 'Allocated', ip: '203.0.113.10', networkId: null }]);
    await expectRejected(
      w.cloud,
      () => w.alice.vpcs.create({ zoneId: w.zone.id, name: 'pub', cidr: '8.8.0.0/16' }),
      invalid('cidr', '8.8.0.0/16'),
    );
    await expectRejected(
      w.cloud,
      () => w.alice.vpcs.create({ zoneId: w.zone.id, name: 'x', cidr: '10.0.0.1/16' }),
      invalid('cidr', '10.0.0.1/16'),
    );
  });

  it('tiers lie inside the super CIDR without overlap, at most vpc.max.networks (3), one LB tier', async () => {
    const w = await vpcWorld();
    const t1 = await w.alice.vpcs.createTier({
      vpcId: w.vpc.id,
      name: 'web',
      networkOfferingId: w.lbOffering.id,
      cidr: '10.0.1.0/24',
    });
    expect(t1).toMatchObject({ vpcId: w.vpc.id, cidr: '10.0.1.0/24', gateway: '10.0.1.1', state: 'Allocated' });
    await expectRejected(
      w.cloud,
      () =>
        w.alice.vpcs.createTier({ vpcId: w.vpc.id, name: 'out', networkOfferingId: w.noLb.id, cidr: '10.1.0.0/24' }),
      invalid('cidr', '10.1.0.0/24'),
    );
    await expectRejected(
      w.cloud,
      () =>
        w.alice.vpcs.createTier({ vpcId: w.vpc.id, name: 'lap', networkOfferingId: w.noLb.id, cidr: '10.0.1.128/25' }),
      invalid('cidr', '10.0.1.128/25'),
    );
    await expectRejected(
      w.cloud,
      () =>
        w.alice.vpcs.createTier({
          vpcId: w.vpc.id,
          name: 'lb2',
          networkOfferingId: w.lbOffering.id,
          cidr: '10.0.2.0/24',
        }),
      invalid('networkOfferingId', w.lbOffering.id),
    );
    await expectRejected(
      w.cloud,
      () =>
        w.alice.vpcs.createTier({
          vpcId: w.vpc.id,
          name: 'iso',
          networkOfferingId: w.isolatedOfferingId,
          cidr: '10.0.2.0/24',
        }),
      invalid('networkOfferingId', w.isolatedOfferingId),
    );
    await w.alice.vpcs.createTier({ vpcId: w.vpc.id, name: 'app', networkOfferingId: w.noLb.id, cidr: '10.0.2.0/24' });
    await w.alice.vpcs.createTier({ vpcId: w.vpc.id, name: 'db', networkOfferingId: w.noLb.id, cidr: '10.0.3.0/24' });
    await expectRejected(
      w.cloud,
      () =>
        w.alice.vpcs.createTier({ vpcId: w.vpc.id, name: 'four', networkOfferingId: w.noLb.id, cidr: '10.0.4.0/24' }),
      invalid('vpcId', w.vpc.id),
    );
  });

  it('a tier defaults to default_deny; custom lists: first match by number, unmatched ingress denied, egress allowed until the first egress item', async () => {
    const w = await vpcWorld();
    const tier = await w.alice.vpcs.createTier({
      vpcId: w.vpc.id,
      name: 'web',
      networkOfferingId: w.lbOffering.id,
      cidr: '10.0.1.0/24',
    });
    const acls = await w.alice.vpcs.listAcls(w.vpc.id);
    const deny = acls.find((a) => a.name === 'default_deny')!;
    expect(tier.aclId).toBe(deny.id);
    expect(
      await w.alice.vpcs.evaluateAcl(deny.id, { trafficType: 'Egress', protocol: 'tcp', port: 80, address: '1.1.1.1' }),
    ).toBe('Deny');
    await expectRejected(
      w.cloud,
      () => w.alice.vpcs.addAclItem(deny.id, { action: 'Allow', trafficType: 'Ingress', protocol: 'all' }),
      invalid('aclId', deny.id),
    );

    const acl = await w.alice.vpcs.createAcl({ vpcId: w.vpc.id, name: 'web-acl' });
    await w.alice.vpcs.addAclItem(acl.id, {
      number: 10,
      action: 'Deny',
      trafficType: 'Ingress',
      protocol: 'tcp',
      startPort: 22,
      cidrs: ['0.0.0.0/0'],
    });
    await w.alice.vpcs.addAclItem(acl.id, {
      number: 20,
      action: 'Allow',
      trafficType: 'Ingress',
      protocol: 'tcp',
      startPort: 1,
      endPort: 1024,
      cidrs: ['0.0.0.0/0'],
    });
    await expectRejected(
      w.cloud,
      () => w.alice.vpcs.addAclItem(acl.id, { number: 20, action: 'Allow', trafficType: 'Ingress', protocol: 'udp' }),
      { error: DuplicateError, code: 'DUPLICATE', httpCode: 431, field: 'number', value: 20 },
    );
    const q = (trafficType: 'Ingress' | 'Egress', port: number) =>
      w.alice.vpcs.evaluateAcl(acl.id, { trafficType, protocol: 'tcp', port, address: '198.51.100.7' });
    expect(await q('Ingress', 22)).toBe('Deny');
    expect(await q('Ingress', 80)).toBe('Allow');
    expect(await q('Ingress', 8080)).toBe('Deny');
    expect(await q('Egress', 443)).toBe('Allow');
    await w.alice.vpcs.addAclItem(acl.id, {
      action: 'Allow',
      trafficType: 'Egress',
      protocol: 'tcp',
      startPort: 80,
      cidrs: ['0.0.0.0/0'],
    });
    expect(await q('Egress', 443)).toBe('Deny');
    expect(await q('Egress', 80)).toBe('Allow');

    await w.alice.vpcs.replaceTierAcl(tier.id, acl.id);
    await expectRejected(w.cloud, () => w.alice.vpcs.deleteAcl(acl.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'aclId',
      value: acl.id,
    });
  });

  it('public IPs bind to a tier at the first rule; the VPC source NAT IP carries nothing else; IPs stay after tier removal; delete only without tiers', async () => {
    const w = await vpcWorld();
    const tier = await w.alice.vpcs.createTier({
      vpcId: w.vpc.id,
      name: 'web',
      networkOfferingId: w.lbOffering.id,
      cidr: '10.0.1.0/24',
    });
    const vmId = await w.vm(w.account.id, 'web1');
    const nic = await w.cloud.context.write((wr) =>
      w.alice.networks.allocateNic(wr, { vmId, networkId: tier.id, isDefault: true }),
    );
    await w.alice.networks.startNic(nic.id);
    const snat = (
      await w.cloud.store.db
        .selectFrom('ipAllocations')
        .select('id')
        .where('vpcId', '=', w.vpc.id)
        .executeTakeFirstOrThrow()
    ).id;
    await expectRejected(
      w.cloud,
      () =>
        w.alice.rules.createPortForwarding({
          ipId: Number(snat),
          protocol: 'tcp',
          publicStartPort: 22,
          privateStartPort: 22,
          vmId,
        }),
      {
        error: NetworkRuleConflictError,
        code: 'NETWORK_RULE_CONFLICT',
        httpCode: 537,
        field: 'ipId',
        value: Number(snat),
      },
    );
    const ip = await w.alice.publicIps.acquire({ vpcId: w.vpc.id });
    expect(ip).toMatchObject({ vpcId: w.vpc.id, networkId: null, state: 'Allocating' });
    await w.alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId,
    });
    expect(await w.alice.publicIps.get(ip.id)).toMatchObject({ networkId: tier.id, state: 'Allocated' });

    await expectRejected(w.cloud, () => w.alice.vpcs.delete(w.vpc.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: w.vpc.id,
    });
    await w.alice.networks.stopNic(nic.id);
    await w.cloud.context.write((wr) => w.alice.networks.deallocateNic(wr, nic.id));
    await w.alice.vpcs.deleteTier(tier.id);
    expect(await w.alice.publicIps.get(ip.id)).toMatchObject({ vpcId: w.vpc.id, networkId: null });
    expect(await w.cloud.store.db.selectFrom('networkRules').selectAll().execute()).toEqual([]);
    await w.alice.vpcs.delete(w.vpc.id);
    expect(await w.cloud.store.db.selectFrom('ipAllocations').selectAll().execute()).toEqual([]);
  });

  it('private gateways: root admin, (VLAN, IP) unique per zone, static routes outside the VPC CIDR', async () => {
    const w = await vpcWorld();
    const input = {
      vpcId: w.vpc.id,
      physicalNetworkId: w.physicalNetworkId,
      vlan: 900,
      ip: '172.16.0.2',
      gateway: '172.16.0.1',
      netmask: '255.255.255.0',
    };
    const gw = await w.net.vpcs.createPrivateGateway(input);
    await expectRejected(w.cloud, () => w.net.vpcs.createPrivateGateway(input), {
      error: DuplicateError,
      code: 'DUPLICATE',
      httpCode: 431,
      field: 'ip',
      value: '172.16.0.2',
    });
    await expectRejected(
      w.cloud,
      () => w.net.vpcs.createPrivateGateway({ ...input, ip: '172.16.1.2' }),
      invalid('ip', '172.16.1.2'),
    );
    const other = await w.net.vpcs.createPrivateGateway({ ...input, ip: '172.16.0.3' });
    expect(other.vlan).toBe(900);
    await expectRejected(w.cloud, () => w.alice.vpcs.createPrivateGateway({ ...input, vlan: 901 }), {
      error: (await import('../../src/errors.js')).PermissionDeniedError,
      code: 'PERMISSION_DENIED',
      httpCode: 401,
      field: undefined as never,
      value: undefined,
    });
    expect((await w.alice.vpcs.addStaticRoute(gw.id, '192.168.50.0/24')).staticRoutes).toEqual(['192.168.50.0/24']);
    await expectRejected(
      w.cloud,
      () => w.alice.vpcs.addStaticRoute(gw.id, '10.0.5.0/24'),
      invalid('cidr', '10.0.5.0/24'),
    );
  });
});
