import { DriverError, type DriverErrorCode, type SecondaryStoreRef } from '@stratus/core';
import { delay, throwIfAborted } from './latency.js';

/** The image-store operations (core's `ImageStoreDriver`). */
export type ImageStoreOperation = 'download' | 'delete' | 'stat';

/** A download request as core sends it (structurally core's `ImageDownloadRequest`). */
export interface SimImageDownloadRequest {
  uuid: string;
  kind: 'template' | 'iso';
  url: string;
  extension: string;
  checksum?: string | null;
}

/** An object in a simulated store (structurally core's `ImageObject`). */
export interface SimImageObject {
  path: string;
  sizeBytes: number;
  physicalSizeBytes: number;
  checksum?: string;
}

/** Options of {@link SimulatedImageStore}. */
export interface SimulatedImageStoreOptions {
  /** Total latency of one download in ms, spread over `progressSteps` progress reports (default 0). */
  downloadMs?: number;
  /** Latency of delete/stat in ms (default 0). */
  latencyMs?: number;
  /** Progress reports per download (default 4). */
  progressSteps?: number;
  /** Virtual size of a downloaded object (default 2 GiB; a `?size=<bytes>` query on the URL overrides it). */
  sizeOf?: (url: string) => number;
}

interface ArmedFault {
  operation: ImageStoreOperation;
  urlIncludes?: string;
  remaining: number;
  error: DriverErrorCode | Error;
  /** For downloads: fail after reporting this percent. */
  atPercent?: number;
}

/**
 * An in-memory secondary storage for tests and the demo, implementing core's `ImageStoreDriver`
 * (download with progress, delete, stat) with configurable latency and fault injection. URLs on
 * the `unreachable.invalid` host always fail as a real fetch would.
 */
export class SimulatedImageStore {
  /** store uuid → path → object. */
  readonly stores = new Map<string, Map<string, SimImageObject>>();
  /** How many calls of each operation were made. */
  readonly calls: Record<ImageStoreOperation, number> = { download: 0, delete: 0, stat: 0 };
  private faults: ArmedFault[] = [];

  constructor(private readonly options: SimulatedImageStoreOptions = {}) {}

  /** Fail the next `times` (default 1) calls of `operation` (optionally only for URLs containing `urlIncludes`). */
  failNext(
    operation: ImageStoreOperation,
    options: { times?: number; urlIncludes?: string; error?: DriverErrorCode | Error; atPercent?: number } = {},
  ): this {
    this.faults.push({
      operation,
      remaining: options.times ?? 1,
      error: options.error ?? 'DeviceError',
      ...(options.urlIncludes !== undefined ? { urlIncludes: options.urlIncludes } : {}),
      ...(options.atPercent !== undefined ? { atPercent: options.atPercent } : {}),
    });
    return this;
  }

  /** Removes every armed fault. */
  clearFaults(): void {
    this.faults = [];
  }

  /** The objects of one store. */
  objects(store: { uuid: string }): Map<string, SimImageObject> {
    let objects = this.stores.get(store.uuid);
    if (!objects) {
      objects = new Map();
      this.stores.set(store.uuid, objects);
    }
    return objects;
  }

  async download(
    store: SecondaryStoreRef,
    request: SimImageDownloadRequest,
    call: { signal?: AbortSignal; onProgress?: (percent: number) => void } = {},
  ): Promise<SimImageObject> {
    this.calls.download++;
    throwIfAborted(call.signal, 'download');
    const fault = this.take('download', request.url);
    const path = `template/tmpl/${request.uuid}/${request.uuid}.${request.extension.toLowerCase()}`;
    const steps = Math.max(1, this.options.progressSteps ?? 4);
    const stepMs = (this.options.downloadMs ?? 0) / steps;
    for (let i = 1; i <= steps; i++) {
      if (stepMs > 0) await delay(stepMs, call.signal, 'download');
      const percent = Math.floor((i / steps) * 100);
      if (fault && (fault.atPercent === undefined || percent > fault.atPercent))
        throw this.error(fault.error, `download of ${request.url}`);
      if (new URL(request.url).hostname === 'unreachable.invalid')
        throw new DriverError('Unreachable', `cannot reach ${request.url}`);
      call.onProgress?.(Math.min(percent, 99));
    }
    const objects = this.objects(store);
    const existing = objects.get(path);
    if (existing) return { ...existing };
    const size = this.sizeOf(request.url);
    const object: SimImageObject = {
      path,
      sizeBytes: size,
      physicalSizeBytes: size,
      ...(request.checksum ? { checksum: request.checksum } : {}),
    };
    objects.set(path, object);
    call.onProgress?.(100);
    return { ...object };
  }

  async delete(store: SecondaryStoreRef, path: string, call: { signal?: AbortSignal } = {}): Promise<void> {
    this.calls.delete++;
    await this.wait(call.signal, 'delete');
    const fault = this.take('delete', path);
    if (fault) throw this.error(fault.error, `delete of ${path}`);
    this.objects(store).delete(path);
  }

  async stat(
    store: SecondaryStoreRef,
    path: string,
    call: { signal?: AbortSignal } = {},
  ): Promise<SimImageObject | null> {
    this.calls.stat++;
    await this.wait(call.signal, 'stat');
    const fault = this.take('stat', path);
    if (fault) throw this.error(fault.error, `stat of ${path}`);
    const object = this.objects(store).get(path);
    return object ? { ...object } : null;
  }

  private sizeOf(url: string): number {
    const size = Number(new URL(url).searchParams.get('size'));
    if (Number.isSafeInteger(size) && size > 0) return size;
    return this.options.sizeOf?.(url) ?? 2 * 1024 ** 3;
  }

  private async wait(signal: AbortSignal | undefined, operation: string): Promise<void> {
    const ms = this.options.latencyMs ?? 0;
    if (ms > 0) await delay(ms, signal, operation);
    else throwIfAborted(signal, operation);
  }

  private take(operation: ImageStoreOperation, subject: string): ArmedFault | undefined {
    const fault = this.faults.find(
      (f) => f.operation === operation && (f.urlIncludes === undefined || subject.includes(f.urlIncludes)),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  private error(error: DriverErrorCode | Error, what: string): Error {
    return error instanceof Error
      ? error
      : new DriverError(error, `simulated image store: injected ${error} in ${what}`);
  }
}

/** A {@link SimulatedImageStore}. */
export function simulatedImageStore(options: SimulatedImageStoreOptions = {}): SimulatedImageStore {
  return new SimulatedImageStore(options);
}
