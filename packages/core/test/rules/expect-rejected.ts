import { expect } from 'vitest';
import type { Cloud } from '../../src/cloud.js';
import { StratusError } from '../../src/errors.js';
import type { StratusEvent } from '../../src/events/event-types.js';
import { snapshot } from './store-snapshot.js';

/** What a rejected operation must throw. */
export interface ExpectedRejection<E extends StratusError> {
  /** The error class. */
  error: abstract new (
    ...args: never[]
  ) => E;
  /** Its stable machine-readable code, e.g. `INVALID_PARAMETER`. */
  code: string;
  /** Its CloudStack error code, e.g. 431. */
  httpCode: number;
  /** The input field the error names. */
  field: string;
  /** The rejected value it names (`undefined` when the field was missing). */
  value: unknown;
}

/**
 * Runs `action`, which must fail, and proves the rejection was clean: the error is of the expected
 * class with the expected `code`, `httpCode`, `field` and `value`; the store is row-for-row what it
 * was before (no row written, not even an event row); and no in-process event was delivered.
 * Returns the error for further checks.
 */
export async function expectRejected<E extends StratusError>(
  cloud: Cloud,
  action: () => Promise<unknown>,
  expected: ExpectedRejection<E>,
): Promise<E> {
  const before = await snapshot(cloud.store);
  const delivered: StratusEvent[] = [];
  const unsubscribe = cloud.context.bus.on('*', (event) => delivered.push(event));
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await action() };
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    unsubscribe();
  }
  if (outcome.ok) {
    throw new Error(`expected a ${expected.error.name} (${expected.code}) but the operation succeeded`);
  }
  const error = outcome.error;
  expect(error).toBeInstanceOf(StratusError);
  expect(error).toBeInstanceOf(expected.error);
  const typed = error as E;
  expect({ code: typed.code, httpCode: typed.httpCode, field: typed.field }).toEqual({
    code: expected.code,
    httpCode: expected.httpCode,
    field: expected.field,
  });
  expect(typed.value).toStrictEqual(expected.value);
  expect(await snapshot(cloud.store)).toEqual(before);
  expect(delivered).toEqual([]);
  return typed;
}
