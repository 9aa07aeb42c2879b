import type { StratusEvent } from './event-types.js';

/** A function called with each event it subscribed to, after the transaction that recorded it committed. */
export type EventListener = (event: StratusEvent) => void;

/**
 * In-process delivery of events, after the transaction that recorded them commits (a listener
 * never sees an event whose change was rolled back). A listener that throws is reported to the
 * error handler and does not stop the others.
 */
export class EventBus {
  private readonly byType = new Map<string, Set<EventListener>>();
  private readonly all = new Set<EventListener>();

  constructor(private readonly onListenerError: (error: unknown, event: StratusEvent) => void = () => {}) {}

  /** Listens to one event type, or to every event with `'*'`. Returns the unsubscribe function. */
  on(type: string, listener: EventListener): () => void {
    if (type === '*') {
      this.all.add(listener);
      return () => this.all.delete(listener);
    }
    let set = this.byType.get(type);
    if (!set) {
      set = new Set();
      this.byType.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Whether anyone listens to events of `type` (or to every event) now. */
  hasListeners(type: string): boolean {
    return this.all.size > 0 || (this.byType.get(type)?.size ?? 0) > 0;
  }

  emit(event: StratusEvent): void {
    const typed = this.byType.get(event.type);
    for (const listeners of typed ? [typed, this.all] : [this.all]) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          this.onListenerError(error, event);
        }
      }
    }
  }
}
