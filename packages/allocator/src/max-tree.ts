/** A segment tree of (CPU, memory) maxima over a fixed number of leaves. */
export class MaxTree {
  private readonly size: number;
  private readonly cpu: Float64Array;
  private readonly memory: Float64Array;

  constructor(leaves: number) {
    let size = 1;
    while (size < leaves) size *= 2;
    this.size = size;
    this.cpu = new Float64Array(2 * size).fill(Number.NEGATIVE_INFINITY);
    this.memory = new Float64Array(2 * size).fill(Number.NEGATIVE_INFINITY);
  }

  set(leaf: number, cpu: number, memory: number): void {
    let k = leaf + this.size;
    this.cpu[k] = cpu;
    this.memory[k] = memory;
    for (k >>= 1; k >= 1; k >>= 1) {
      this.cpu[k] = Math.max(this.cpu[2 * k] as number, this.cpu[2 * k + 1] as number);
      this.memory[k] = Math.max(this.memory[2 * k] as number, this.memory[2 * k + 1] as number);
    }
  }

  /**
   * Leaves whose CPU bound ≥ `cpu` and memory bound ≥ `memory`, appended to `out`; stops and
   * returns false once more than `limit` are found.
   */
  collect(cpu: number, memory: number, out: number[], limit: number): boolean {
    const stack = [1];
    while (stack.length > 0) {
      const k = stack.pop() as number;
      if ((this.cpu[k] as number) < cpu || (this.memory[k] as number) < memory) continue;
      if (k >= this.size) {
        out.push(k - this.size);
        if (out.length > limit) return false;
      } else stack.push(2 * k + 1, 2 * k);
    }
    return true;
  }

  /** Largest CPU bound and largest memory bound over all leaves (not necessarily the same leaf). */
  get maxCpu(): number {
    return this.cpu[1] as number;
  }
  get maxMemory(): number {
    return this.memory[1] as number;
  }
}
