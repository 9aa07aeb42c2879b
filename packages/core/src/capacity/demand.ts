import { InvalidParameterError } from '../errors.js';
import type { Demand } from './placement-state.js';

/** Bytes per MiB. */
export const MIB = 2 ** 20;

/**
 * A compute offering's demand: CPU = `cpuNumber × cpuSpeed` MHz, memory = `memory × 2^20` bytes
 * (spec/allocation.md §1).
 */
export function demandOf(offering: { cpuNumber: number; cpuSpeed: number; memory: number }): Demand {
  for (const field of ['cpuNumber', 'cpuSpeed', 'memory'] as const) {
    const v = offering[field];
    if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidParameterError(field, v, 'must be a positive integer');
  }
  return {
    cpu: offering.cpuNumber * offering.cpuSpeed,
    memory: offering.memory * MIB,
    cores: offering.cpuNumber,
    speed: offering.cpuSpeed,
  };
}
