/** Options of {@link srxDriver} and how a registered device's parameters resolve against them (drivers.md §7.2). */

/** How the SRX's SSH host key is checked. */
export type SrxHostKeyCheck =
  /** SHA-256 fingerprints (base64, as `ssh-keygen -l` prints after `SHA256:`) per device address. */
  | { sha256ByHost: Readonly<Record<string, string>> }
  /** Accept any host key: tests on loopback only. */
  | { insecureSkipVerify: true };

/** Options of the SRX driver. */
export interface SrxDriverOptions {
  /** Host-key check (required: a device's identity is never taken on trust by default). */
  hostKey: SrxHostKeyCheck;
  /** NETCONF port (default 830; a device's `details.port` wins). */
  port?: number;
  /** Zone names (default `untrust` / `trust`; a device's `details.publiczone` / `details.privatezone` win). */
  publicZone?: string;
  privateZone?: string;
  /** SSH connect deadline (default 15 s). */
  connectTimeoutMs?: number;
  /** Offer base:1.1 chunked framing (default true). */
  base11?: boolean;
}

/** Defaults from CloudStack's SRX resource. */
export const SRX_DEFAULTS = {
  port: 830,
  publicZone: 'untrust',
  privateZone: 'trust',
  numRetries: 1,
  timeoutMs: 300_000,
  connectTimeoutMs: 15_000,
} as const;
