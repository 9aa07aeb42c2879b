import { HttpCode, StratusError } from '../errors.js';

/**
 * A rule conflicts with another on the same public IP or network (CloudStack's
 * `NETWORK_RULE_CONFLICT_ERROR`, 537): overlapping ports, static NAT with port forwarding, two
 * services on one IP without conserve mode.
 */
export class NetworkRuleConflictError extends StratusError {
  constructor(field: string, value: unknown, reason: string, details?: Record<string, unknown>) {
    super('NETWORK_RULE_CONFLICT', HttpCode.NETWORK_RULE_CONFLICT, `${field} ${JSON.stringify(value)}: ${reason}`, {
      field,
      value,
      ...(details ? { details } : {}),
    });
  }
}
