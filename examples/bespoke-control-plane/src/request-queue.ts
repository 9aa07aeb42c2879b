/** Instance sizes the control plane sells; each maps to a service offering. */
export type Size = 'small' | 'medium' | 'large' | 'xlarge';

/** What a tenant asks for. Higher `priority` is served first; equal priorities in arrival order. */
export type Request =
  | { kind: 'deploy'; id: number; tenant: string; name: string; size: Size; priority: number }
  | { kind: 'retire'; id: number; tenant: string; name: string; priority: number };

/** A priority queue of requests: highest priority first, first come first served within one priority. */
export class RequestQueue {
  private readonly items: Request[] = [];

  /** Queues the request behind every request of its priority or higher. */
  push(request: Request): void {
    const at = this.items.findIndex((r) => r.priority < request.priority);
    this.items.splice(at < 0 ? this.items.length : at, 0, request);
  }

  /** Removes and returns the first request (in priority order) that `eligible` accepts. */
  take(eligible: (request: Request) => boolean = () => true): Request | undefined {
    const at = this.items.findIndex(eligible);
    return at < 0 ? undefined : this.items.splice(at, 1)[0];
  }

  get size(): number {
    return this.items.length;
  }
}
