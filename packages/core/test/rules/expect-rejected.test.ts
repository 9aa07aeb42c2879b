import { describe, expect, it } from 'vitest';
import { InvalidParameterError, NotFoundError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, openCloud } from './rule-fixtures.js';

const zoneNameTaken = {
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field: 'name',
  value: 'z1',
};

/** The rule tests' assertion must itself be able to fail, on each of the things it checks. */
describe('expectRejected', () => {
  it('passes on a clean rejection', async () => {
    const cloud = await openCloud();
    await advancedZone(cloud);
    const error = await expectRejected(cloud, () => advancedZone(cloud, { guestCidr: '10.2.1.0/24' }), zoneNameTaken);
    expect(error.message).toContain('z1');
  });

  it('fails when the operation succeeds', async () => {
    const cloud = await openCloud();
    await expect(expectRejected(cloud, () => advancedZone(cloud), zoneNameTaken)).rejects.toThrow(/succeeded/);
  });

  it('fails on another error class, code, field or value', async () => {
    const cloud = await openCloud();
    await advancedZone(cloud);
    const duplicate = () => advancedZone(cloud, { guestCidr: '10.2.1.0/24' });
    await expect(expectRejected(cloud, duplicate, { ...zoneNameTaken, error: NotFoundError })).rejects.toThrow();
    await expect(expectRejected(cloud, duplicate, { ...zoneNameTaken, code: 'DUPLICATE' })).rejects.toThrow();
    await expect(expectRejected(cloud, duplicate, { ...zoneNameTaken, httpCode: 536 })).rejects.toThrow();
    await expect(expectRejected(cloud, duplicate, { ...zoneNameTaken, field: 'zoneName' })).rejects.toThrow();
    await expect(expectRejected(cloud, duplicate, { ...zoneNameTaken, value: 'z2' })).rejects.toThrow();
  });

  it('fails when the operation wrote before it threw (rows or an event)', async () => {
    const cloud = await openCloud();
    const writesThenThrows = async () => {
      await advancedZone(cloud, { name: 'z1' });
      throw new InvalidParameterError('name', 'z1', 'thrown after a committed write');
    };
    await expect(expectRejected(cloud, writesThenThrows, zoneNameTaken)).rejects.toThrow();
  });

  it('fails when an in-process event was delivered', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const emitsThenThrows = async () => {
      cloud.context.bus.emit({
        id: 0,
        uuid: 'e',
        type: 'ZONE.EDIT',
        state: 'Completed',
        level: 'INFO',
        description: 'not persisted',
        userId: 2,
        accountId: 2,
        domainId: 1,
        resourceType: 'Zone',
        resourceId: zone.id,
        resourceUuid: zone.uuid,
        startId: null,
        parameters: {},
        created: new Date(),
        archived: false,
      });
      throw new InvalidParameterError('name', 'z1', 'thrown after an event');
    };
    await expect(expectRejected(cloud, emitsThenThrows, zoneNameTaken)).rejects.toThrow();
  });
});
