/**
 * Typed errors. Every error carries a stable string `code`, CloudStack's HTTP-style numeric
 * `httpCode` where one fits (431 invalid parameter, 530 internal, 533 insufficient capacity, …),
 * and, for input errors, the offending `field` and `value`.
 */

import { redactCredentials, redactDeep } from './model/redact.js';

/** CloudStack's API error codes (ApiErrorCode). */
export const HttpCode = {
  UNAUTHORIZED: 401,
  MALFORMED_PARAMETER: 430,
  PARAM_ERROR: 431,
  UNSUPPORTED_ACTION: 432,
  INTERNAL_ERROR: 530,
  ACCOUNT_ERROR: 531,
  ACCOUNT_RESOURCE_LIMIT: 532,
  INSUFFICIENT_CAPACITY: 533,
  RESOURCE_UNAVAILABLE: 534,
  RESOURCE_ALLOCATION: 535,
  RESOURCE_IN_USE: 536,
  NETWORK_RULE_CONFLICT: 537,
} as const;

/** The details a {@link StratusError} carries besides its message: the offending field and value. */
export interface StratusErrorOptions {
  field?: string;
  value?: unknown;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** Base class of every error Stratus throws on purpose. */
export class StratusError extends Error {
  /** Stable machine-readable code, e.g. `INVALID_PARAMETER`. */
  readonly code: string;
  /** CloudStack-compatible numeric error code. */
  readonly httpCode: number;
  /** The input field at fault, when there is one. */
  readonly field?: string;
  /** The rejected value, when there is one. */
  readonly value?: unknown;
  readonly details?: Record<string, unknown>;

  constructor(code: string, httpCode: number, message: string, options: StratusErrorOptions = {}) {
    // A URL with credentials in a rejected value or a driver's message never reaches the caller's logs.
    super(redactCredentials(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpCode = httpCode;
    if (options.field !== undefined) this.field = options.field;
    if (options.value !== undefined) this.value = redactDeep(options.value);
    if (options.details !== undefined) this.details = redactDeep(options.details);
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A parameter is missing, malformed or breaks a rule of the model (431). */
export class InvalidParameterError extends StratusError {
  constructor(field: string, value: unknown, reason: string, details?: Record<string, unknown>) {
    super('INVALID_PARAMETER', HttpCode.PARAM_ERROR, `invalid ${field} ${show(value)}: ${reason}`, {
      field,
      value,
      ...(details ? { details } : {}),
    });
  }
}

/** A referenced entity does not exist (or was removed). */
export class NotFoundError extends StratusError {
  readonly entity: string;
  constructor(entity: string, field: string, value: unknown) {
    super('NOT_FOUND', HttpCode.PARAM_ERROR, `${entity} not found: ${field} ${show(value)}`, { field, value });
    this.entity = entity;
  }
}

/** A value that must be unique in some scope is already taken. */
export class DuplicateError extends StratusError {
  constructor(entity: string, field: string, value: unknown, scope: string) {
    super('DUPLICATE', HttpCode.PARAM_ERROR, `${entity} ${field} ${show(value)} already exists in ${scope}`, {
      field,
      value,
      details: { entity, scope },
    });
  }
}

/** The entity is in use and cannot be deleted or changed that way (536). */
export class ResourceInUseError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('RESOURCE_IN_USE', HttpCode.RESOURCE_IN_USE, message, options);
  }
}

/** A state machine has no transition for (state, event). */
export class NoTransitionError extends StratusError {
  readonly machine: string;
  readonly from: string;
  readonly event: string;
  constructor(machine: string, from: string, event: string) {
    super('NO_TRANSITION', HttpCode.PARAM_ERROR, `${machine}: no transition from ${from} on ${event}`, {
      field: 'state',
      value: from,
      details: { machine, event },
    });
    this.machine = machine;
    this.from = from;
    this.event = event;
  }
}

/** The operation is not allowed in the entity's current state. */
export class InvalidStateError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('INVALID_STATE', HttpCode.PARAM_ERROR, message, options);
  }
}

/**
 * A compare-and-set lost: the row changed (state or version) between read and write.
 * The caller re-reads and decides again.
 */
export class ConcurrentModificationError extends StratusError {
  constructor(entity: string, id: number, expected: { state?: string; version: number }) {
    super(
      'CONCURRENT_MODIFICATION',
      HttpCode.INTERNAL_ERROR,
      `${entity} ${id} was changed by another writer (expected ${expected.state ? `state ${expected.state}, ` : ''}version ${expected.version})`,
      { details: { entity, id, ...expected } },
    );
  }
}

/** An operation the configuration or the driver does not support (432). */
export class UnsupportedError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('UNSUPPORTED', HttpCode.UNSUPPORTED_ACTION, message, options);
  }
}

/** Not enough capacity to satisfy a request (533). */
export class InsufficientCapacityError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('INSUFFICIENT_CAPACITY', HttpCode.INSUFFICIENT_CAPACITY, message, options);
  }
}

/** An account or domain resource limit would be exceeded (532). */
export class ResourceLimitError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('ACCOUNT_RESOURCE_LIMIT', HttpCode.ACCOUNT_RESOURCE_LIMIT, message, options);
  }
}

/** A required resource (driver, host, device) is unavailable (534). */
export class ResourceUnavailableError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('RESOURCE_UNAVAILABLE', HttpCode.RESOURCE_UNAVAILABLE, message, options);
  }
}

/** The caller may not do this (401). */
export class PermissionDeniedError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('PERMISSION_DENIED', HttpCode.UNAUTHORIZED, message, options);
  }
}

/**
 * Credentials that name no user, or the wrong password (401). The message never says which part
 * was wrong.
 */
export class AuthenticationError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('AUTHENTICATION_FAILED', HttpCode.UNAUTHORIZED, message, options);
  }
}

/** The user or its account is disabled or locked, or is a project's account, which never acts itself (531). */
export class AccountDisabledError extends StratusError {
  constructor(message: string, options: StratusErrorOptions = {}) {
    super('ACCOUNT_DISABLED', HttpCode.ACCOUNT_ERROR, message, options);
  }
}

/**
 * An optional peer dependency the requested feature needs is not installed (530): e.g.
 * `sqliteStore()` without `better-sqlite3`, or `postgresStore()` without `pg`. `field` is
 * `package` and `value` the npm package to install; `details.feature` names what asked for it.
 */
export class MissingDependencyError extends StratusError {
  /** The npm package to install. */
  readonly packageName: string;
  constructor(packageName: string, feature: string, cause?: unknown) {
    super(
      'MISSING_DEPENDENCY',
      HttpCode.INTERNAL_ERROR,
      `${feature} needs the package ${JSON.stringify(packageName)}, which is not installed: run \`npm install ${packageName}\``,
      { field: 'package', value: packageName, cause, details: { feature } },
    );
    this.packageName = packageName;
  }
}
