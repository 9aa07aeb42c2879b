import { DriverError, type DriverErrorScope } from '@stratus/core';
import type { PropertyCollector } from './property-collector.js';
import { filterSpec, objectSpec, propertySpec, traversal } from './property-collector.js';
import { el, leaf, type MoRef, mor } from './soap-xml.js';
import { driverErrorOfFault, faultOf } from './vim-fault.js';
import { moRefOf, type VimSession } from './vim-session.js';
import { child, childrenOf, numberOf, textOf, type XNode } from './xml-node.js';

/** Options of one wait. */
export interface TaskWaitOptions {
  /** The method that made the task (`CloneVM_Task`), for error messages. */
  operation: string;
  signal?: AbortSignal;
  /** Give up after this long (the task may still finish on the vCenter). */
  timeoutMs: number;
  onProgress?: (percent: number, message?: string) => void;
  scope?: DriverErrorScope;
}

interface Pending {
  task: MoRef;
  options: TaskWaitOptions;
  resolve(result: XNode | undefined): void;
  reject(error: unknown): void;
}

/** How long one `WaitForUpdatesEx` may block on the server. */
const MAX_WAIT_SECONDS = 5;
/** Polling interval of the fallback. */
const POLL_MS = 250;

/**
 * Waits for tasks (drivers.md §5.4) with one property filter per session: a `ListView` holds the outstanding tasks
 * (`ModifyListView` adds and removes them), one filter over it reports their `info`, and one `WaitForUpdatesEx` loop
 * serves every waiter. A task error is not a SOAP fault: its `info.error.fault` becomes a typed error. When the
 * filter cannot be made or the loop fails (a vCenter without list views, a session that expired and took the
 * filter with it), waiting falls back to polling `info` with `RetrievePropertiesEx`.
 */
export class TaskWaiter {
  private readonly pending = new Map<string, Pending>();
  private view: MoRef | undefined;
  private filter: MoRef | undefined;
  private version = '';
  private loop: Promise<void> | undefined;
  private setup: Promise<boolean> | undefined;
  private filterUnavailable = false;
  /** How many waits were answered by polling (the fallback), for tests and diagnostics. */
  polledWaits = 0;

  constructor(
    private readonly session: VimSession,
    private readonly collector: PropertyCollector,
  ) {}

  /** Waits for `task` to end; resolves with `info.result` (undefined when the task has none). */
  wait(task: MoRef, options: TaskWaitOptions): Promise<XNode | undefined> {
    return new Promise<XNode | undefined>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          finish(
            new DriverError(
              'Timeout',
              `vSphere ${options.operation}: task ${task.value} did not end within ${options.timeoutMs} ms`,
              options.scope ? { scope: options.scope } : {},
            ),
          ),
        options.timeoutMs,
      );
      const onAbort = (): void =>
        finish(
          new DriverError('Timeout', `vSphere ${options.operation}: waiting for task ${task.value} was aborted`, {
            cause: options.signal?.reason,
          }),
        );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (error: unknown, result?: XNode): void => {
        if (!this.pending.has(task.value)) return;
        this.pending.delete(task.value);
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (this.view && !this.filterUnavailable)
          void this.session.call('ModifyListView', this.view, [mor('remove', task)]).catch(() => undefined);
        if (error) reject(error);
        else resolve(result);
      };
      this.pending.set(task.value, { task, options, resolve: (r) => finish(undefined, r), reject: (e) => finish(e) });
      if (options.signal?.aborted) onAbort();
      else void this.track(task);
    });
  }

  private async track(task: MoRef): Promise<void> {
    if (await this.ensureFilter()) {
      try {
        await this.session.call('ModifyListView', this.view!, [mor('add', task)]);
        this.loop ??= this.runLoop().finally(() => {
          this.loop = undefined;
        });
        return;
      } catch {
        this.reset();
      }
    }
    void this.poll(task);
  }

  private ensureFilter(): Promise<boolean> {
    if (this.filterUnavailable) return Promise.resolve(false);
    if (this.filter !== undefined) return Promise.resolve(true);
    this.setup ??= (async () => {
      try {
        const created = await this.session.call('CreateListView', this.session.content.viewManager, []);
        this.view = moRefOf(child(created, 'returnval'));
        const filter = await this.session.call('CreateFilter', this.session.content.propertyCollector, [
          filterSpec(
            'spec',
            [propertySpec('Task', ['info'])],
            [objectSpec(this.view!, true, traversal('tasks', 'ListView', 'view'))],
          ),
          leaf('partialUpdates', false),
        ]);
        this.filter = moRefOf(child(filter, 'returnval'));
        this.version = '';
        return true;
      } catch {
        this.filterUnavailable = true;
        return false;
      }
    })().finally(() => {
      this.setup = undefined;
    });
    return this.setup;
  }

  private reset(): void {
    this.view = undefined;
    this.filter = undefined;
    this.version = '';
  }

  private async runLoop(): Promise<void> {
    while (this.pending.size > 0 && this.filter !== undefined) {
      let res: XNode;
      try {
        res = await this.session.call(
          'WaitForUpdatesEx',
          this.session.content.propertyCollector,
          [leaf('version', this.version), el('options', leaf('maxWaitSeconds', MAX_WAIT_SECONDS))],
          { timeoutMs: (MAX_WAIT_SECONDS + 30) * 1000 },
        );
      } catch {
        // The filter went with its session, or the server cannot wait: every pending task is polled instead.
        this.reset();
        for (const p of this.pending.values()) void this.poll(p.task);
        return;
      }
      const set = child(res, 'returnval');
      if (set === undefined) continue; // maxWaitSeconds passed without a change
      this.version = textOf(set, 'version') ?? this.version;
      for (const fs of childrenOf(set, 'filterSet'))
        for (const os of childrenOf(fs, 'objectSet')) {
          const ref = moRefOf(child(os, 'obj'));
          if (ref === undefined) continue;
          for (const change of childrenOf(os, 'changeSet'))
            if (textOf(change, 'name') === 'info') this.settle(ref.value, child(change, 'val'));
        }
    }
  }

  /** Settles a waiter from a `TaskInfo`; returns whether the task has ended. */
  private settle(taskId: string, info: XNode | undefined): boolean {
    const p = this.pending.get(taskId);
    if (p === undefined || info === undefined) return p === undefined;
    const state = textOf(info, 'state');
    const progress = numberOf(info, 'progress');
    if (progress !== undefined) p.options.onProgress?.(progress, p.options.operation);
    if (state === 'success') {
      p.resolve(child(info, 'result'));
      return true;
    }
    if (state === 'error') {
      const error = child(info, 'error');
      const fault = child(error, 'fault');
      const message = textOf(error, 'localizedMessage') ?? '';
      p.reject(
        driverErrorOfFault(fault ? faultOf(fault, message) : { type: 'TaskError', message, fields: {} }, {
          operation: p.options.operation,
          ...(p.options.scope ? { scope: p.options.scope } : {}),
        }),
      );
      return true;
    }
    return false;
  }

  private async poll(task: MoRef): Promise<void> {
    this.polledWaits++;
    while (this.pending.has(task.value)) {
      try {
        const props = await this.collector.one(task, ['info']);
        if (this.settle(task.value, props.get('info'))) return;
      } catch (error) {
        this.pending.get(task.value)?.reject(error);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Destroys the filter and the list view (before logout). */
  async close(): Promise<void> {
    const { filter, view } = this;
    this.reset();
    if (filter) await this.session.call('DestroyPropertyFilter', filter, []).catch(() => undefined);
    if (view) await this.session.call('DestroyView', view, []).catch(() => undefined);
  }
}
