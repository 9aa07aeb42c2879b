import { InsufficientCapacityError, NotFoundError, StratusError, type VirtualMachine } from '@stratus/core';
import type { Fleet } from './build-cloud.js';
import { type Request, RequestQueue } from './request-queue.js';

/** How a request ended. */
export type Outcome =
  | { status: 'served'; request: Request; attempts: number; vm: VirtualMachine }
  | { status: 'rejected'; request: Request; attempts: number; code: string; reason: string };

export interface ControlPlaneOptions {
  /** At most this many requests in flight (default 4). */
  concurrency?: number;
  /** One line per decision. */
  log?: (line: string) => void;
}

/**
 * Serves tenants' requests on a {@link Fleet}: highest priority first, at most `concurrency` at a
 * time and one per tenant (a fair share: one tenant's burst does not hold up the others).
 *
 * A deployment refused for capacity is parked and tried once more when the queue has drained
 * (retirements queued behind it may have freed room); a second refusal rejects it. Typed input
 * errors (bad names, resource limits) reject at once. A failed deployment leaves a VM in Error that
 * holds nothing but one VM of the tenant's quota, so it is expunged.
 */
export class ControlPlane {
  readonly outcomes = new Map<number, Outcome>();
  private readonly queue = new RequestQueue();
  private parked: Request[] = [];
  /** Tenants with a request in flight. */
  private readonly busy = new Set<string>();
  private readonly attempts = new Map<number, number>();
  private readonly concurrency: number;
  private readonly log: (line: string) => void;

  constructor(
    private readonly fleet: Fleet,
    options: ControlPlaneOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.log = options.log ?? (() => {});
  }

  submit(...requests: Request[]): void {
    for (const r of requests) this.queue.push(r);
  }

  /** Serves everything submitted, then the parked requests once; resolves when all have an outcome. */
  async run(): Promise<Outcome[]> {
    await this.drain();
    if (this.parked.length > 0) {
      this.log(`queue drained; retrying ${this.parked.length} parked request(s) once`);
      this.submit(...this.parked.splice(0));
      await this.drain();
    }
    return [...this.outcomes.values()].sort((a, b) => a.request.id - b.request.id);
  }

  /** Starts the best request of an idle tenant whenever a slot is free, until nothing is left. */
  private async drain(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      while (inFlight.size < this.concurrency) {
        const r = this.queue.take((candidate) => !this.busy.has(candidate.tenant));
        if (!r) break;
        this.busy.add(r.tenant);
        const serving: Promise<void> = this.serve(r).finally(() => {
          this.busy.delete(r.tenant);
          inFlight.delete(serving);
        });
        inFlight.add(serving);
      }
      if (inFlight.size === 0) return;
      await Promise.race(inFlight);
    }
  }

  private async serve(request: Request): Promise<void> {
    const attempts = (this.attempts.get(request.id) ?? 0) + 1;
    this.attempts.set(request.id, attempts);
    const what = `#${request.id} ${request.tenant} ${request.kind} ${request.name}`;
    try {
      const vm = request.kind === 'deploy' ? await this.deploy(request) : await this.retire(request);
      this.outcomes.set(request.id, { status: 'served', request, attempts, vm });
      const where = this.fleet.hosts.find((h) => h.id === (vm.hostId ?? vm.lastHostId))?.name ?? '-';
      this.log(`served   ${what} (${request.kind === 'deploy' ? `on ${where}` : `was on ${where}`})`);
    } catch (error) {
      if (error instanceof InsufficientCapacityError && attempts === 1) {
        this.parked.push(request);
        this.log(`parked   ${what}: ${error.message}`);
        return;
      }
      const code = error instanceof StratusError ? error.code : 'INTERNAL_ERROR';
      const reason = error instanceof Error ? error.message : String(error);
      this.outcomes.set(request.id, { status: 'rejected', request, attempts, code, reason });
      this.log(`rejected ${what}: ${code}: ${reason}`);
    }
  }

  /** Deploys as the tenant and awaits the job; a failed job's Error VM is expunged. */
  private async deploy(request: Extract<Request, { kind: 'deploy' }>): Promise<VirtualMachine> {
    const { cloud, zone, template, sizes } = this.fleet;
    const tenant = this.tenant(request.tenant);
    const job = await tenant.cloud.vms.deploy({
      zoneId: zone.id,
      serviceOfferingId: sizes[request.size].id,
      templateId: template.id,
      networkIds: [tenant.network.id],
      hostName: request.name,
      displayName: request.name,
    });
    try {
      return await job.result;
    } catch (error) {
      await (await cloud.vms.destroy(job.vmId, { expunge: true })).result;
      throw error;
    }
  }

  /** Destroys and expunges the tenant's VM of that name (expunging is the operator's right). */
  private async retire(request: Extract<Request, { kind: 'retire' }>): Promise<VirtualMachine> {
    const tenant = this.tenant(request.tenant);
    const vm = (await tenant.cloud.vms.list()).find((v) => v.displayName === request.name);
    if (!vm) throw new NotFoundError('VirtualMachine', 'name', request.name);
    await (await this.fleet.cloud.vms.destroy(vm.id, { expunge: true })).result;
    return vm;
  }

  private tenant(name: string) {
    const tenant = this.fleet.tenants.get(name);
    if (!tenant) throw new NotFoundError('Tenant', 'name', name);
    return tenant;
  }
}
