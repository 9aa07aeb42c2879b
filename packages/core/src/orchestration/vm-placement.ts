import type { Allocator } from '../allocation/allocator-contract.js';
import type { DeployDestination, VmProfile } from '../allocation/deployment-plan.js';
import type { ExcludeList } from '../allocation/exclude-list.js';
import { CapacityIndex } from '../capacity/capacity-index.js';
import type { CapacityDelta } from '../capacity/capacity-service.js';
import type { CloudContext } from '../context.js';
import { ResourceUnavailableError } from '../errors.js';

/**
 * The in-memory placement index of one cloud: loaded from the store on first use, kept current by
 * replaying the capacity deltas this process commits, and refreshed per host when another process
 * won a race (the store's conditional updates stay the authority).
 */
export class PlacementIndex {
  private index: CapacityIndex | undefined;
  private loading: Promise<CapacityIndex> | undefined;

  constructor(
    private readonly ctx: CloudContext,
    readonly allocator: Allocator | undefined,
  ) {}

  async get(): Promise<CapacityIndex> {
    if (this.index) return this.index;
    this.loading ??= CapacityIndex.load(this.ctx.db, { clock: () => this.ctx.clock.now() }).then((index) => {
      this.index = index;
      return index;
    });
    return this.loading;
  }

  /** Forgets the index; the next placement reloads it (after topology changes: hosts, pools, states). */
  invalidate(): void {
    this.index = undefined;
    this.loading = undefined;
  }

  apply(deltas: readonly CapacityDelta[]): void {
    this.index?.apply(deltas);
  }

  async refreshHost(hostId: number): Promise<void> {
    await this.index?.refreshHost(this.ctx.db, hostId);
  }

  /** Asks the allocator for a destination. Throws PlacementError (533) with the explanation when none fits. */
  async place(
    vm: VmProfile,
    plan: { zoneId: number; hostId?: number; avoid: ExcludeList },
  ): Promise<DeployDestination> {
    if (!this.allocator) {
      throw new ResourceUnavailableError('no allocator is configured: pass one to createCloud({ allocator })', {
        field: 'allocator',
      });
    }
    const index = await this.get();
    return this.allocator.place(index, vm, {
      zoneId: plan.zoneId,
      avoid: plan.avoid,
      ...(plan.hostId !== undefined ? { hostId: plan.hostId } : {}),
    }).destination;
  }
}
