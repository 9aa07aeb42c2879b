import { describe, expect, it } from 'vitest';
import type { Cloud } from '../../src/cloud.js';
import { InvalidParameterError, NotFoundError, PermissionDeniedError } from '../../src/errors.js';
import type { ImageFormat } from '../../src/model/enums.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, openCloud } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

const CENTOS = 'http://download.example.com/templates/centos-7-x86_64.qcow2.bz2';

async function zoneId(cloud: Cloud): Promise<number> {
  return (await advancedZone(cloud)).id;
}

/** spec/resource-model.md §7, §13 — templates and ISOs. */
describe('template rules', () => {
  it('the URL is http:// or https://', async () => {
    const cloud = await openCloud();
    const zone = await zoneId(cloud);
    for (const url of ['ftp://download.example.com/centos.qcow2', 'file:///tmp/centos.qcow2', 'centos.qcow2']) {
      await expectRejected(
        cloud,
        () => cloud.templates.register({ name: 'CentOS', url, format: 'QCOW2', hypervisorType: 'KVM', zoneId: zone }),
        invalid('url', url),
      );
    }
  });

  it("the format is one the template's hypervisor runs", async () => {
    const cloud = await openCloud();
    const zone = await zoneId(cloud);
    for (const [hypervisorType, format] of [
      ['KVM', 'VHD'],
      ['XenServer', 'QCOW2'],
      ['VMware', 'RAW'],
    ] as const) {
      await expectRejected(
        cloud,
        () => cloud.templates.register({ name: 'CentOS', url: CENTOS, format, hypervisorType, zoneId: zone }),
        invalid('format', format),
      );
    }
    await expectRejected(
      cloud,
      () =>
        cloud.templates.register({
          name: 'CentOS',
          url: CENTOS,
          format: 'IMG' as ImageFormat,
          hypervisorType: 'KVM',
          zoneId: zone,
        }),
      invalid('format', 'IMG'),
    );
    // A template (not an ISO) names its hypervisor.
    await expectRejected(
      cloud,
      () => cloud.templates.register({ name: 'CentOS', url: CENTOS, format: 'QCOW2', zoneId: zone }),
      invalid('hypervisorType', undefined),
    );
  });

  it('an ISO is hypervisor-independent', async () => {
    const cloud = await openCloud();
    const zone = await zoneId(cloud);
    await expectRejected(
      cloud,
      () =>
        cloud.templates.register({
          name: 'CentOS ISO',
          url: 'http://download.example.com/centos.iso',
          format: 'ISO',
          hypervisorType: 'KVM',
          zoneId: zone,
        }),
      invalid('hypervisorType', 'KVM'),
    );
  });

  it('only a root admin may mark a template featured', async () => {
    const cloud = await openCloud();
    const zone = await zoneId(cloud);
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: 'acme',
      type: 'NORMAL',
      user: { username: 'alice', password: 'secret' },
    });
    const alice = cloud.as(await cloud.resolveCaller({ userId: user.id }));
    await expectRejected(
      cloud,
      () =>
        alice.templates.register({
          name: 'CentOS',
          url: CENTOS,
          format: 'QCOW2',
          hypervisorType: 'KVM',
          zoneId: zone,
          isFeatured: true,
        }),
      { error: PermissionDeniedError, code: 'PERMISSION_DENIED', httpCode: 401, field: 'isFeatured', value: true },
    );
    // The same registration without the flag is hers to make.
    const mine = await alice.templates.register({
      name: 'CentOS',
      url: CENTOS,
      format: 'QCOW2',
      hypervisorType: 'KVM',
      zoneId: zone,
    });
    expect(mine.accountId).toBe(account.id);
  });

  it('a template names its zone unless it is cross-zone, and then names none', async () => {
    const cloud = await openCloud();
    const zone = await zoneId(cloud);
    const base = { name: 'CentOS', url: CENTOS, format: 'QCOW2', hypervisorType: 'KVM' } as const;
    await expectRejected(cloud, () => cloud.templates.register(base), invalid('zoneId', undefined));
    await expectRejected(
      cloud,
      () => cloud.templates.register({ ...base, crossZones: true, zoneId: zone }),
      invalid('zoneId', zone),
    );
    await expectRejected(cloud, () => cloud.templates.register({ ...base, zoneId: 999 }), {
      error: NotFoundError,
      code: 'NOT_FOUND',
      httpCode: 431,
      field: 'zoneId',
      value: 999,
    });
  });
});
