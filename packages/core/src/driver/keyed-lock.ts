/**
 * For drivers: serializes async work per key (one in-flight mutation per VM, one copy per template
 * and pool), the way a CloudStack agent queues commands. Work on a free key starts synchronously:
 * no await is added when nothing waits, so the uncontended path stays as fast as a plain call.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `key` has finished. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.tails.set(key, mine);
    const done = (): void => {
      release();
      if (this.tails.get(key) === mine) this.tails.delete(key);
    };
    const start = previous === undefined ? work() : previous.then(work);
    return start.then(
      (value) => {
        done();
        return value;
      },
      (error: unknown) => {
        done();
        throw error;
      },
    );
  }

  /** Whether someone holds or waits for `key`. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
