import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/errors.js';
import type { StorageType } from '../../src/model/enums.js';
import type { CreateServiceOfferingInput } from '../../src/resources/offerings.js';
import { expectRejected } from './expect-rejected.js';
import { openCloud } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** The spec's "Small Instance": 1 × 500 MHz, 512 MiB. */
const small: CreateServiceOfferingInput = { name: 'Small Instance', cpuNumber: 1, cpuSpeed: 500, memory: 512 };

/** spec/resource-model.md §6.1–6.2, §13 — service and disk offerings. */
describe('service offering rules', () => {
  it('cpuNumber is a whole number of cores, at least 1', async () => {
    const cloud = await openCloud();
    for (const cpuNumber of [0, -1, 1.5]) {
      await expectRejected(
        cloud,
        () => cloud.offerings.createServiceOffering({ ...small, cpuNumber }),
        invalid('cpuNumber', cpuNumber),
      );
    }
    await expectRejected(
      cloud,
      () => cloud.offerings.createServiceOffering({ ...small, cpuSpeed: 0 }),
      invalid('cpuSpeed', 0),
    );
  });

  it('memory is at least 32 MiB (CloudStack minimum)', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => cloud.offerings.createServiceOffering({ ...small, memory: 16 }),
      invalid('memory', 16),
    );
    expect((await cloud.offerings.createServiceOffering({ ...small, memory: 32 })).memory).toBe(32);
  });

  it('storageType is shared or local', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => cloud.offerings.createServiceOffering({ ...small, storageType: 'ssd' as StorageType }),
      invalid('storageType', 'ssd'),
    );
  });

  it('only name and displayText change after creation', async () => {
    const cloud = await openCloud();
    const offering = await cloud.offerings.createServiceOffering(small);
    await expectRejected(
      cloud,
      () => cloud.offerings.updateServiceOffering(offering.id, { cpuNumber: 4 }),
      invalid('cpuNumber', 4),
    );
    await expectRejected(
      cloud,
      () => cloud.offerings.updateServiceOffering(offering.id, { name: 'Bigger', memory: 2048 }),
      invalid('memory', 2048),
    );
    await expectRejected(
      cloud,
      () => cloud.offerings.updateServiceOffering(offering.id, { offerHa: true }),
      invalid('offerHa', true),
    );
    expect(
      (await cloud.offerings.updateServiceOffering(offering.id, { displayText: 'Small, 512 MB' })).displayText,
    ).toBe('Small, 512 MB');
  });
});

describe('disk offering rules', () => {
  it('a customized offering has no size', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => cloud.offerings.createDiskOffering({ name: 'Custom', customized: true, diskSizeGb: 10 }),
      invalid('diskSizeGb', 10),
    );
  });

  it('a fixed offering has a positive size', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => cloud.offerings.createDiskOffering({ name: 'Small' }),
      invalid('diskSizeGb', undefined),
    );
    await expectRejected(
      cloud,
      () => cloud.offerings.createDiskOffering({ name: 'Small', diskSizeGb: 0 }),
      invalid('diskSizeGb', 0),
    );
  });

  it('a disk offering is immutable but for its name and display text', async () => {
    const cloud = await openCloud();
    const offering = await cloud.offerings.createDiskOffering({ name: 'Small', diskSizeGb: 5 });
    await expectRejected(
      cloud,
      () => cloud.offerings.updateDiskOffering(offering.id, { diskSizeGb: 20 }),
      invalid('diskSizeGb', 20),
    );
  });
});
