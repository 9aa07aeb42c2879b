import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { DriverError } from '../driver/driver-error.js';
import type { SecondaryStoreRef } from '../driver/storage-spec.js';
import {
  type ImageDownloadRequest,
  type ImageObject,
  type ImageStoreCallOptions,
  type ImageStoreDriver,
  imageObjectPath,
  parseChecksum,
} from './image-store-driver.js';

/** Options of {@link localImageStoreDriver}. */
export interface LocalImageStoreOptions {
  /** Directory under which each image store has a sub-directory named after its uuid (the mounted NFS export). */
  root: string;
  /** Per-download timeout in ms (default none; `primary.storage.download.wait` is the caller's). */
  timeoutMs?: number;
}

/**
 * A real {@link ImageStoreDriver} over a local directory standing for the mounted NFS export of each
 * store (`<root>/<store uuid>/template/tmpl/<uuid>/<uuid>.<ext>`): downloads with `fetch` over http(s),
 * streams to a temporary file, verifies the checksum when given, then renames into place.
 */
export function localImageStoreDriver(options: LocalImageStoreOptions): ImageStoreDriver {
  const root = resolve(options.root);
  const storeDir = (store: SecondaryStoreRef) => join(root, store.uuid);
  const inside = (store: SecondaryStoreRef, path: string): string => {
    const base = storeDir(store);
    const full = resolve(base, path);
    if (full !== base && !full.startsWith(base + sep))
      throw new DriverError('InvalidState', `path ${path} escapes the store`);
    return full;
  };
  const statObject = async (store: SecondaryStoreRef, path: string): Promise<ImageObject | null> => {
    try {
      const st = await stat(inside(store, path));
      if (!st.isFile()) return null;
      return { path, sizeBytes: st.size, physicalSizeBytes: st.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  return {
    async download(
      store: SecondaryStoreRef,
      request: ImageDownloadRequest,
      call: ImageStoreCallOptions = {},
    ): Promise<ImageObject> {
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        throw new DriverError('InvalidState', `not a URL: ${request.url}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new DriverError('Unsupported', `only http(s) downloads are supported, not ${url.protocol}`);
      const path = imageObjectPath(request);
      const target = inside(store, path);
      const expected = request.checksum ? parseChecksum(request.checksum) : undefined;
      const existing = await statObject(store, path);
      if (existing && !expected) return existing;
      const signals = [call.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined].filter(
        (s): s is AbortSignal => s !== undefined,
      );
      const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
      let response: Response;
      try {
        response = await fetch(url, signal ? { signal } : {});
      } catch (error) {
        throw new DriverError(
          signal?.aborted ? 'Timeout' : 'Unreachable',
          `download of ${request.url} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (!response.ok || !response.body) {
        throw new DriverError(
          response.status === 404 ? 'NotFound' : 'DeviceError',
          `download of ${request.url} failed: HTTP ${response.status}`,
          {
            vendorCode: response.status,
          },
        );
      }
      const total = Number(response.headers.get('content-length') ?? 0);
      const hash = createHash(expected?.algorithm ?? 'md5');
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.part-${process.pid}-${Date.now()}`;
      const file = await open(temp, 'w');
      let received = 0;
      let lastPercent = -1;
      try {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          hash.update(value);
          await file.write(value);
          received += value.byteLength;
          if (total > 0) {
            const percent = Math.min(99, Math.floor((received / total) * 100));
            if (percent !== lastPercent) {
              lastPercent = percent;
              call.onProgress?.(percent);
            }
          }
        }
      } catch (error) {
        await file.close();
        await rm(temp, { force: true });
        throw new DriverError(
          signal?.aborted ? 'Timeout' : 'Unreachable',
          `download of ${request.url} interrupted: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await file.close();
      const digest = hash.digest('hex');
      if (expected && digest !== expected.hex) {
        await rm(temp, { force: true });
        throw new DriverError(
          'DeviceError',
          `checksum mismatch for ${request.url}: expected ${expected.algorithm}:${expected.hex}, got ${digest}`,
          {
            vendorCode: 'CHECKSUM_MISMATCH',
          },
        );
      }
      await rename(temp, target);
      call.onProgress?.(100);
      return {
        path,
        sizeBytes: received,
        physicalSizeBytes: received,
        checksum: `${expected?.algorithm ?? 'md5'}:${digest}`,
      };
    },

    async delete(store: SecondaryStoreRef, path: string): Promise<void> {
      const full = inside(store, path);
      await rm(full, { force: true });
      // Remove the object's now-empty directory (template/tmpl/<uuid>).
      await rmdir(dirname(full)).catch(() => undefined);
    },

    stat: statObject,
  };
}
