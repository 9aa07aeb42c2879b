import type { XapiTlsOptions } from './xapi-transport.js';
import type { XenSecondaryStorage } from './xen-secondary.js';

/** Options of {@link xenDriver}. */
export interface XenDriverOptions extends XenSecondaryStorage {
  /** How to trust the pools' certificates (default: verified against the system CAs). */
  tls?: XapiTlsOptions;
  /** Timeout of one XAPI call (default 30 s). */
  callTimeoutMs?: number;
  /** Timeout of one long task (start, migrate, copy; default 30 min). */
  taskTimeoutMs?: number;
  /** `event.from` long-poll in seconds (default 60.1). */
  eventTimeoutSeconds?: number;
  /** Graceful shutdown wait before a hard shutdown when `stopVm` gets no `timeoutMs` (default 60 s). */
  shutdownTimeoutMs?: number;
  /** The guest-OS template a VM is made from when its `osType` names none (default `Other install media`). */
  fallbackTemplate?: string;
  /** Physical device of the PIF guest VLANs are made on when the traffic label's network has none (default none). */
  vlanDevice?: string;
}
