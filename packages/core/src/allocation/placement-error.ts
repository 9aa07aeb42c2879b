import { InsufficientCapacityError } from '../errors.js';
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

  constructor(explanation: PlacementExplanation, scope: PlacementLevel = 'hosts', prefix?: string) {
    const levelName = scope === 'pools' ? 'storage pools' : scope;
    const main = summariseLevel(levelName, explanation[scope]);
    const extra =
      scope === 'hosts' && explanation.pools.candidates > 0
        ? `; ${summariseLevel('storage pools', explanation.pools)}`
        : '';
    super(`${prefix ? `${prefix}: ` : ''}${main}${extra}`, { details: { scope, explanation } });
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
