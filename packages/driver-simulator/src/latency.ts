import { DriverError, type HypervisorOperation } from '@stratus/core';

/** Rejects with a `Timeout` driver error when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    throw new DriverError('Timeout', `${operation} aborted`, { cause: signal.reason });
  }
}

/** Waits `ms` milliseconds; rejects with a `Timeout` driver error when `signal` aborts first. */
export function delay(ms: number, signal: AbortSignal | undefined, operation: string): Promise<void> {
  throwIfAborted(signal, operation);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new DriverError('Timeout', `${operation} aborted`, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Simulated latency: one figure for every operation, or per operation with a `default`. */
export type LatencySetting = number | ({ default?: number } & Partial<Record<HypervisorOperation, number>>);

/** The latency of one operation under a {@link LatencySetting}. */
export function latencyOf(setting: LatencySetting | undefined, operation: HypervisorOperation): number {
  if (setting === undefined) return 0;
  if (typeof setting === 'number') return setting;
  return setting[operation] ?? setting.default ?? 0;
}
