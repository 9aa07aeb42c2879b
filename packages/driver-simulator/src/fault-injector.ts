import { DriverError, type DriverErrorCode, type HypervisorOperation } from '@stratus/core';

/** A call as fault predicates see it. */
export interface SimulatorCall {
  operation: HypervisorOperation;
  /** Guid and name of the addressed host (source host for a migration). */
  host?: { guid: string; name: string };
  /** Guid and name of the migration destination. */
  destination?: { guid: string; name: string };
  /** VM name, when the call is about a VM. */
  vm?: string;
  /** The call's arguments, as given. */
  args: readonly unknown[];
}

/** The error an injected fault throws: a ready error, or a driver code to build one from. */
export type InjectedError = Error | DriverErrorCode;

/** Options of {@link FaultInjector.failNext}. */
export interface FailNextOptions {
  /** Only calls addressing this host (guid or name; either end of a migration). */
  host?: string;
  /** Only calls about this VM. */
  vm?: string;
  /** How many matching calls fail (default 1). */
  times?: number;
  /** What they throw (default a `DeviceError` with vendor code `SIM_INJECTED_FAULT`). */
  error?: InjectedError;
}

/** Which operations a fault applies to: one, or `*` for all. */
export type FaultOperation = HypervisorOperation | '*';

interface Rule {
  operation: FaultOperation;
  matches: (call: SimulatorCall) => boolean;
  remaining: number; // Infinity for failAlways
  error: InjectedError | undefined;
}

function hostMatches(call: SimulatorCall, host: string): boolean {
  return [call.host, call.destination].some((h) => h !== undefined && (h.guid === host || h.name === host));
}

/**
 * Fault injection for the simulator: make chosen calls fail, a number of times or for as long as a predicate
 * says so. Faults are checked in registration order; the first matching one fires.
 */
export class FaultInjector {
  private rules: Rule[] = [];

  /** Fail the next `times` (default 1) calls of `operation` that match `host`/`vm`. */
  failNext(operation: FaultOperation, options: FailNextOptions = {}): this {
    const times = options.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new RangeError(`failNext: times must be a positive integer, got ${times}`);
    this.rules.push({
      operation,
      matches: (call) =>
        (options.host === undefined || hostMatches(call, options.host)) &&
        (options.vm === undefined || call.vm === options.vm),
      remaining: times,
      error: options.error,
    });
    return this;
  }

  /**
   * Fail every call of `operation` for which `predicate` is true (all calls when omitted), until the returned
   * function or {@link clear} removes the fault.
   */
  failAlways(
    operation: FaultOperation,
    predicate: (call: SimulatorCall) => boolean = () => true,
    error?: InjectedError,
  ): () => void {
    const rule: Rule = { operation, matches: predicate, remaining: Number.POSITIVE_INFINITY, error };
    this.rules.push(rule);
    return () => {
      this.rules = this.rules.filter((r) => r !== rule);
    };
  }

  /** Remove every fault. */
  clear(): void {
    this.rules = [];
  }

  /** How many faults are armed. */
  get armed(): number {
    return this.rules.length;
  }

  /** @internal The error to throw for `call`, if a fault fires; consumes one use of that fault. */
  take(call: SimulatorCall): Error | undefined {
    const rule = this.rules.find((r) => (r.operation === '*' || r.operation === call.operation) && r.matches(call));
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    const error = rule.error ?? 'DeviceError';
    if (error instanceof Error) return error;
    const scope = call.host === undefined ? {} : { scope: { kind: 'host' as const, ref: call.host.guid } };
    return new DriverError(error, `simulator: injected ${error} in ${call.operation}`, {
      ...scope,
      ...(error === 'DeviceError' ? { vendorCode: 'SIM_INJECTED_FAULT', vendorMessage: 'injected fault' } : {}),
    });
  }
}
