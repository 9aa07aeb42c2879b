import { HttpCode, StratusError, type StratusErrorOptions } from '../errors.js';

/**
 * The stable failure codes every driver (hypervisor or network device) reports, drivers.md §1.
 *
 * - `Unreachable`: the host/device/pool did not answer (connection refused, host down, session lost for good).
 * - `AuthFailed`: the credentials were refused.
 * - `NotFound`: the object the call needs (VM, volume, pool, template on secondary) does not exist.
 *   Deletes never throw it: "not found" while deleting is success.
 * - `AlreadyExists`: an object with that identity exists with a *different* spec
 *   (same identity and same spec is success).
 * - `InvalidState`: wrong power state or a rule of the hypervisor (migrate across clusters, detach the root disk…).
 * - `InsufficientCapacity`: the host or pool has no room for the request.
 * - `Unsupported`: the hypervisor or device cannot do this at all.
 * - `Timeout`: the operation did not finish in time, or was aborted through its `AbortSignal`.
 * - `DeviceError`: any other vendor error; carries `vendorCode` and `vendorMessage`.
 */
export const DRIVER_ERROR_CODES = [
  'Unreachable',
  'AuthFailed',
  'NotFound',
  'AlreadyExists',
  'InvalidState',
  'InsufficientCapacity',
  'Unsupported',
  'Timeout',
  'DeviceError',
] as const;

/** A driver failure code, see {@link DRIVER_ERROR_CODES}. */
export type DriverErrorCode = (typeof DRIVER_ERROR_CODES)[number];

/** What a failure is about, so core can put it into the deployment planner's avoid set and re-plan. */
export interface DriverErrorScope {
  kind: 'host' | 'pool' | 'cluster' | 'device';
  /** The host guid, pool uuid, cluster reference or device address the failure applies to. */
  ref: string;
}

/** Options of {@link DriverError}. */
export interface DriverErrorOptions extends StratusErrorOptions {
  /** The host, pool, cluster or device the failure is scoped to. */
  scope?: DriverErrorScope;
  /** The vendor's own error code (XAPI error name, vSphere fault type, NITRO errorcode, HTTP status…). */
  vendorCode?: string | number;
  /** The vendor's own error message, verbatim (secrets redacted). */
  vendorMessage?: string;
}

const HTTP_CODE: Record<DriverErrorCode, number> = {
  Unreachable: HttpCode.RESOURCE_UNAVAILABLE,
  AuthFailed: HttpCode.INTERNAL_ERROR,
  NotFound: HttpCode.INTERNAL_ERROR,
  AlreadyExists: HttpCode.INTERNAL_ERROR,
  InvalidState: HttpCode.INTERNAL_ERROR,
  InsufficientCapacity: HttpCode.INSUFFICIENT_CAPACITY,
  Unsupported: HttpCode.UNSUPPORTED_ACTION,
  Timeout: HttpCode.INTERNAL_ERROR,
  DeviceError: HttpCode.INTERNAL_ERROR,
};

function screamingSnake(code: DriverErrorCode): string {
  return code.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * A typed failure reported by a hypervisor or network-device driver (drivers.md §1).
 * `code` is `DRIVER_<CODE>` (e.g. `DRIVER_INSUFFICIENT_CAPACITY`), `driverCode` the bare code; `httpCode` is
 * 533 for `InsufficientCapacity`, 534 for `Unreachable`, 432 for `Unsupported` and 530 otherwise.
 */
export class DriverError extends StratusError {
  /** The driver failure code. */
  readonly driverCode: DriverErrorCode;
  /** The host/pool/cluster/device the failure is scoped to, when the driver knows. */
  readonly scope?: DriverErrorScope;
  /** The vendor's error code (for `DeviceError`, and wherever the vendor gave one). */
  readonly vendorCode?: string | number;
  /** The vendor's error message. */
  readonly vendorMessage?: string;

  constructor(driverCode: DriverErrorCode, message: string, options: DriverErrorOptions = {}) {
    const { scope, vendorCode, vendorMessage, ...base } = options;
    const details: Record<string, unknown> = { ...base.details, driverCode };
    if (scope !== undefined) details.scope = scope;
    if (vendorCode !== undefined) details.vendorCode = vendorCode;
    super(`DRIVER_${screamingSnake(driverCode)}`, HTTP_CODE[driverCode], message, { ...base, details });
    this.driverCode = driverCode;
    if (scope !== undefined) this.scope = scope;
    if (vendorCode !== undefined) this.vendorCode = vendorCode;
    if (vendorMessage !== undefined) this.vendorMessage = vendorMessage;
  }

  /** Whether `error` is a {@link DriverError}, optionally with one of the given codes. */
  static is(error: unknown, ...codes: DriverErrorCode[]): error is DriverError {
    return error instanceof DriverError && (codes.length === 0 || codes.includes(error.driverCode));
  }
}
