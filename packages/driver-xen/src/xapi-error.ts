import { DriverError, type DriverErrorScope } from '@stratus/core';

/** A XAPI failure as the API returned it: `ErrorDescription` `[code, ...params]` (drivers.md §4.2–4.3). */
export class XapiError extends Error {
  /** The XAPI error code, e.g. `VM_BAD_POWER_STATE`. */
  readonly code: string;
  /** Its parameters, as strings. */
  readonly params: readonly string[];
  /** The call that failed (never its arguments: they may carry a password). */
  readonly method?: string;
  constructor(code: string, params: readonly unknown[], method?: string) {
    super(`${code}(${params.map(String).join(', ')})${method ? ` in ${method}` : ''}`);
    this.name = 'XapiError';
    this.code = code;
    this.params = params.map(String);
    if (method !== undefined) this.method = method;
  }
}

/** How a call failed below XAPI: no answer at all, a reset connection, a timeout, or an answer that is not XAPI's. */
export class XapiTransportError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'reset' | 'timeout' | 'protocol' | 'tls',
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${url}: ${message}`, options);
    this.name = 'XapiTransportError';
  }
}

const NOT_FOUND = new Set(['HANDLE_INVALID', 'UUID_INVALID', 'VM_NOT_FOUND']);
const INVALID_STATE = new Set([
  'VM_BAD_POWER_STATE',
  'VM_IS_TEMPLATE',
  'VM_MISSING_PV_DRIVERS',
  'VDI_IN_USE',
  'DEVICE_ALREADY_ATTACHED',
  'DEVICE_ALREADY_DETACHED',
  'VM_REQUIRES_SR',
  'VM_REQUIRES_NET',
  'HOST_DISABLED',
  'HOST_OFFLINE',
  'OPERATION_NOT_ALLOWED',
]);
const CAPACITY = new Set(['HOST_NOT_ENOUGH_FREE_MEMORY', 'NO_HOSTS_AVAILABLE', 'SR_BACKEND_FAILURE_44']);
const UNSUPPORTED = new Set(['MESSAGE_METHOD_UNKNOWN', 'MESSAGE_PARAMETER_COUNT_MISMATCH', 'SR_UNKNOWN_DRIVER']);

/**
 * A XAPI or transport failure as a typed {@link DriverError} (drivers.md §4.3): `HANDLE_INVALID`/`UUID_INVALID` →
 * `NotFound`; `VM_BAD_POWER_STATE` and the other rule violations → `InvalidState`; `HOST_NOT_ENOUGH_FREE_MEMORY`,
 * `NO_HOSTS_AVAILABLE` and a full SR → `InsufficientCapacity` with the reason; `SESSION_AUTHENTICATION_FAILED` →
 * `AuthFailed`; version skew (`MESSAGE_METHOD_UNKNOWN`, `MESSAGE_PARAMETER_COUNT_MISMATCH`) → `Unsupported`; no
 * answer → `Unreachable`; a timeout → `Timeout`; anything else `DeviceError` with the XAPI code. Already a
 * `DriverError`: returned as it is.
 */
export function toDriverError(error: unknown, scope?: DriverErrorScope, what?: string): DriverError {
  if (error instanceof DriverError) return error;
  const options = (extra: object) => ({ ...(scope ? { scope } : {}), cause: error, ...extra });
  const prefix = what ? `${what}: ` : '';
  if (error instanceof XapiError) {
    const vendor = { vendorCode: error.code, vendorMessage: error.message };
    const code = NOT_FOUND.has(error.code)
      ? 'NotFound'
      : INVALID_STATE.has(error.code)
        ? 'InvalidState'
        : CAPACITY.has(error.code)
          ? 'InsufficientCapacity'
          : error.code === 'SESSION_AUTHENTICATION_FAILED'
            ? 'AuthFailed'
            : UNSUPPORTED.has(error.code)
              ? 'Unsupported'
              : 'DeviceError';
    const reason =
      error.code === 'HOST_NOT_ENOUGH_FREE_MEMORY'
        ? `host has ${error.params[1]} bytes free, the VM needs ${error.params[0]}`
        : error.message;
    return new DriverError(code, `${prefix}${reason}`, options(vendor));
  }
  if (error instanceof XapiTransportError) {
    const code = error.kind === 'timeout' ? 'Timeout' : error.kind === 'tls' ? 'AuthFailed' : 'Unreachable';
    return new DriverError(code, `${prefix}${error.message}`, options({}));
  }
  return new DriverError(
    'DeviceError',
    `${prefix}${error instanceof Error ? error.message : String(error)}`,
    options({}),
  );
}
