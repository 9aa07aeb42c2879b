import { NoTransitionError } from '../errors.js';

/**
 * A finite-state machine as data: a list of (from states) × (events) → to rows.
 * Pure: it answers "where does this event lead", it never touches the store.
 */
export interface TransitionRow<S extends string, E extends string> {
  from: readonly S[];
  on: readonly E[];
  to: S;
  /** The transition has usage impact (CloudStack's usage events). */
  usage?: boolean;
}

/**
 * A state machine as data: the transitions of one resource type (state × event → next state), checked for
 * determinism when built. `next` gives the state an event leads to, or undefined if the event is illegal.
 */
export class StateMachine<S extends string, E extends string> {
  readonly name: string;
  readonly states: readonly S[];
  readonly events: readonly E[];
  private readonly table = new Map<string, { to: S; usage: boolean }>();

  constructor(name: string, states: readonly S[], events: readonly E[], rows: readonly TransitionRow<S, E>[]) {
    this.name = name;
    this.states = states;
    this.events = events;
    for (const row of rows) {
      for (const from of row.from) {
        for (const on of row.on) {
          const key = `${from}\u0000${on}`;
          if (this.table.has(key)) throw new Error(`${name}: duplicate transition ${from} --${on}-->`);
          this.table.set(key, { to: row.to, usage: row.usage === true });
        }
      }
    }
  }

  /** The next state, or undefined when the transition is illegal. */
  next(from: S, event: E): S | undefined {
    return this.table.get(`${from}\u0000${event}`)?.to;
  }

  /** The next state; throws {@link NoTransitionError} when the transition is illegal. */
  transition(from: S, event: E): S {
    const to = this.next(from, event);
    if (to === undefined) throw new NoTransitionError(this.name, from, event);
    return to;
  }

  /** Whether the transition (from, event) has usage impact. */
  hasUsage(from: S, event: E): boolean {
    return this.table.get(`${from}\u0000${event}`)?.usage ?? false;
  }

  /** Every legal (from, event, to) triple, for documentation and tests. */
  rows(): Array<{ from: S; event: E; to: S; usage: boolean }> {
    return [...this.table.entries()].map(([key, v]) => {
      const [from, event] = key.split('\u0000') as [S, E];
      return { from, event, to: v.to, usage: v.usage };
    });
  }
}
