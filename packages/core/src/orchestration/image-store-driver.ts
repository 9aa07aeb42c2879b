import type { SecondaryStoreRef } from '../driver/storage-spec.js';

/** What to put into a secondary store: a template or ISO fetched from its registration URL. */
export interface ImageDownloadRequest {
  /** The template's uuid: the object's identity in the store. */
  uuid: string;
  kind: 'template' | 'iso';
  /** http(s) URL to fetch. */
  url: string;
  /** File extension of the stored object, e.g. `qcow2`, `iso`. */
  extension: string;
  /** `<algo>:<hex>` (md5, sha1, sha256, sha512) or a bare MD5 hex; verified when given. */
  checksum?: string | null;
}

/** An object in a secondary store. */
export interface ImageObject {
  /** Path relative to the store root, e.g. `template/tmpl/<uuid>/<uuid>.qcow2`. */
  path: string;
  /** Virtual size (bytes). */
  sizeBytes: number;
  /** Bytes on the store. */
  physicalSizeBytes: number;
  /** `<algo>:<hex>` of what was stored. */
  checksum?: string;
}

/** Per-call options: cancellation and progress 0…100. */
export interface ImageStoreCallOptions {
  signal?: AbortSignal;
  onProgress?: (percent: number) => void;
}

/**
 * Secondary-storage I/O (the SSVM's job in CloudStack, spec/storage.md §3, §6.3): download a URL into
 * an image store with progress, delete an object, stat an object. Failures throw (a `DriverError` or
 * any Error); core records them as `DOWNLOAD_ERROR` on the store copy.
 */
export interface ImageStoreDriver {
  /** Fetches `request.url` into `store`; idempotent by `request.uuid` (a complete copy is kept). */
  download(
    store: SecondaryStoreRef,
    request: ImageDownloadRequest,
    options?: ImageStoreCallOptions,
  ): Promise<ImageObject>;
  /** Removes the object at `path`; a missing object is success. */
  delete(store: SecondaryStoreRef, path: string, options?: ImageStoreCallOptions): Promise<void>;
  /** The object at `path`, or null when there is none. */
  stat(store: SecondaryStoreRef, path: string, options?: ImageStoreCallOptions): Promise<ImageObject | null>;
}

/** The path CloudStack gives a template or ISO in an image store. */
export function imageObjectPath(request: Pick<ImageDownloadRequest, 'uuid' | 'kind' | 'extension'>): string {
  return `template/tmpl/${request.uuid}/${request.uuid}.${request.extension.toLowerCase()}`;
}

/** Splits `<algo>:<hex>` (bare hex = MD5) into a node:crypto algorithm name and lower-case hex. */
export function parseChecksum(checksum: string): { algorithm: string; hex: string } {
  const trimmed = checksum.trim();
  const match = /^(?:\{?(md5|sha1|sha256|sha512)\}?:?)?([0-9a-fA-F]+)$/.exec(trimmed);
  if (!match?.[2]) throw new Error(`unrecognised checksum ${JSON.stringify(checksum)}`);
  return { algorithm: (match[1] ?? 'md5').toLowerCase(), hex: match[2].toLowerCase() };
}
