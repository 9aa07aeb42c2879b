/**
 * Per-call context every driver method takes as its last, optional argument (drivers.md §2.10).
 * Methods with options take an options object that extends this one.
 */
export interface OperationContext {
  /**
   * Aborts the call. A driver stops waiting as soon as it can and rejects with a
   * `DriverError` of code `Timeout` whose `cause` is `signal.reason`; an operation the hypervisor already
   * started may still complete there, which is why every create is idempotent.
   */
  signal?: AbortSignal;
  /** Progress of a long operation (start, migrate, copy), `percent` in 0…100; core copies it into the job record. */
  onProgress?: (percent: number, message?: string) => void;
}

/**
 * How core addresses a host it has connected: the `guid` from the host's `HostReport`, plus whatever
 * else the driver reported that helps it reach the host again without its own lookup table
 * (a driver may be restarted between calls).
 */
export interface HostRef {
  /** The stable host identity from `HostReport.guid`. */
  guid: string;
  /** `HostReport.name`. */
  name?: string;
  /** `HostReport.ip`, the management address. */
  ip?: string;
  /** The URL the host was connected with (`ConnectTarget.url`) or `HostReport.url`. */
  url?: string;
}
