import { DriverError, type DriverErrorScope } from '@stratus/core';
import { PropertyCollector } from './property-collector.js';
import { leaf, type MoRef, type XmlFragment } from './soap-xml.js';
import { TaskWaiter } from './task-waiter.js';
import { isFault } from './vim-fault.js';
import type { VimHttp } from './vim-http.js';
import type { VimLogger } from './vim-logger.js';
import { type CallOptions, moRefOf, VimSession } from './vim-session.js';
import { child, type XNode } from './xml-node.js';

/** Options of a task call. */
export interface TaskCallOptions {
  signal?: AbortSignal;
  onProgress?: (percent: number, message?: string) => void;
  scope?: DriverErrorScope;
  timeoutMs?: number;
}

/**
 * Everything the driver keeps per vCenter: the one session every host of it shares, its PropertyCollector and its
 * task waiter, and the calls built on them.
 */
export class Vcenter {
  readonly session: VimSession;
  readonly collector: PropertyCollector;
  readonly waiter: TaskWaiter;

  constructor(
    readonly http: VimHttp,
    username: string,
    password: string,
    readonly taskTimeoutMs: number,
    logger: VimLogger,
  ) {
    this.session = new VimSession(http, username, password, logger);
    this.collector = new PropertyCollector(this.session);
    this.waiter = new TaskWaiter(this.session, this.collector);
  }

  /** Calls a method and returns its `returnval` element (undefined for a void method). */
  async invoke(
    method: string,
    self: MoRef,
    args: readonly (XmlFragment | undefined)[] = [],
    options: CallOptions = {},
  ) {
    const res = await this.session.call(method, self, args, options);
    return child(res, 'returnval');
  }

  /** Calls a `*_Task` method and waits for the task; resolves with `info.result`. */
  async task(
    method: string,
    self: MoRef,
    args: readonly (XmlFragment | undefined)[],
    options: TaskCallOptions = {},
  ): Promise<XNode | undefined> {
    const ret = await this.invoke(method, self, args, options.signal ? { signal: options.signal } : {});
    const task = moRefOf(ret);
    if (task === undefined) throw new DriverError('DeviceError', `vSphere ${method} returned no task`);
    return this.waiter.wait(task, {
      operation: method,
      timeoutMs: options.timeoutMs ?? this.taskTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.scope ? { scope: options.scope } : {}),
    });
  }

  /** `SearchIndex.FindByInventoryPath` (`DC0/host/DC0_C0`); undefined when nothing is there. */
  async findByInventoryPath(path: string, options: CallOptions = {}): Promise<MoRef | undefined> {
    return moRefOf(
      await this.invoke(
        'FindByInventoryPath',
        this.session.content.searchIndex,
        [leaf('inventoryPath', path)],
        options,
      ),
    );
  }

  /** Reads the given properties of one object. */
  props(ref: MoRef, paths: readonly string[], signal?: AbortSignal) {
    return this.collector.one(ref, paths, signal ? { signal } : {});
  }

  /** Logs out (after destroying the task filter). */
  async close(): Promise<void> {
    await this.waiter.close();
    await this.session.close().catch((error: unknown) => {
      if (!isFault(error, 'NotAuthenticated')) throw error;
    });
  }
}
