import { InsufficientCapacityError, StratusError } from '../errors.js';
import type { PlacementExplanation, PlacementLevel } from './placement-explanation.js';
import { summariseLevel } from './placement-explanation.js';

/**
 * No destination for a VM (533). The message reads like Kubernetes' scheduler, e.g.
 * `0/10000 hosts available: 9500 insufficient memory, 480 host-tag mismatch, 20 in maintenance`,
 * and `explanation` carries the full per-level breakdown. `scope` is the narrowest level that ran out.
 */
export class PlacementError extends InsufficientCapacityError {
  readonly explanation: PlacementExplanation;
  readonly scope: PlacementLevel;

  /**
   * @param cause why an earlier attempt of the same start failed (a host or pool avoided after a
   *   driver failure): named in the message, so the real reason is not lost behind "avoided".
   */
  constructor(explanation: PlacementExplanation, scope: PlacementLevel = 'hosts', prefix?: string, cause?: unknown) {
    const levelName = scope === 'pools' ? 'storage pools' : scope;
    const main = summariseLevel(levelName, explanation[scope]);
    const extra =
      scope === 'hosts' && explanation.pools.candidates > 0
        ? `; ${summariseLevel('storage pools', explanation.pools)}`
        : '';
    const last = cause === undefined ? '' : `; the last attempt failed with ${describeCause(cause)}`;
    super(`${prefix ? `${prefix}: ` : ''}${main}${extra}${last}`, {
      details: { scope, explanation },
      ...(cause === undefined ? {} : { cause }),
    });
    this.explanation = explanation;
    this.scope = scope;
  }
}

/** A booking lost at commit: the host (or pool) no longer has the capacity the plan saw. */
export class CapacityConflictError extends InsufficientCapacityError {
  readonly resource: 'host' | 'pool' | 'cluster';
  readonly resourceId: number;
  readonly reason: string;

  constructor(resource: 'host' | 'pool' | 'cluster', resourceId: number, reason: string, message?: string) {
    super(message ?? `${resource} ${resourceId} does not have enough capacity (${reason})`, {
      details: { resource, resourceId, reason },
    });
    this.resource = resource;
    this.resourceId = resourceId;
    this.reason = reason;
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof StratusError) return `${cause.code}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
