import type { HypervisorOperation } from '@stratus/core';

/** One call the simulator answered. */
export interface OperationLogEntry {
  /** 1, 2, 3… in call-completion order. */
  seq: number;
  operation: HypervisorOperation;
  /** Guid of the host the call addressed. */
  host?: string;
  /** VM name, when the call is about a VM. */
  vm?: string;
  outcome: 'ok' | 'error';
  /** The error's `driverCode` (or `code`) when the call failed. */
  errorCode?: string;
  /** What the simulator did, where that is not obvious (e.g. `copied` vs `already staged`). */
  note?: string;
}

/** Calls and failures of one operation. */
export interface OperationCount {
  ok: number;
  error: number;
}

/**
 * The simulator's call log: the last `limit` entries, plus counts per operation that are never trimmed,
 * so a long what-if run does not grow memory without bound.
 */
export class OperationLog {
  private readonly buffer: OperationLogEntry[] = [];
  private readonly totals = new Map<HypervisorOperation, OperationCount>();
  private seq = 0;

  constructor(private readonly limit = 10_000) {}

  /** @internal Records one call. */
  record(entry: Omit<OperationLogEntry, 'seq'>): void {
    this.seq += 1;
    if (this.limit > 0) {
      this.buffer.push({ seq: this.seq, ...entry });
      if (this.buffer.length > this.limit) this.buffer.splice(0, this.buffer.length - this.limit);
    }
    const total = this.totals.get(entry.operation) ?? { ok: 0, error: 0 };
    total[entry.outcome] += 1;
    this.totals.set(entry.operation, total);
  }

  /** The retained entries, oldest first, optionally only those of one operation. */
  entries(operation?: HypervisorOperation): OperationLogEntry[] {
    const list = operation === undefined ? this.buffer : this.buffer.filter((e) => e.operation === operation);
    return list.map((e) => ({ ...e }));
  }

  /** How many calls were made, in total or of one operation, optionally only one outcome. */
  count(operation?: HypervisorOperation, outcome?: 'ok' | 'error'): number {
    let n = 0;
    for (const [op, total] of this.totals) {
      if (operation !== undefined && op !== operation) continue;
      n += outcome === undefined ? total.ok + total.error : total[outcome];
    }
    return n;
  }

  /** Calls per operation. */
  counts(): Record<string, OperationCount> {
    const out: Record<string, OperationCount> = {};
    for (const [op, total] of this.totals) out[op] = { ...total };
    return out;
  }

  /** Forgets every entry and count. */
  clear(): void {
    this.buffer.length = 0;
    this.totals.clear();
    this.seq = 0;
  }
}
