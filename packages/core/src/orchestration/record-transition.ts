import type { Writer } from '../context.js';
import type { ResourceType } from '../events/event-types.js';

/** Records a `<PREFIX>.STATE.CHANGE` event for a storage-table transition. */
export async function recordTransition(
  w: Writer,
  what: {
    type: ResourceType;
    id: number;
    uuid?: string;
    accountId?: number;
    domainId?: number;
    prefix: string;
    machine: string;
    event: string;
  },
  result: { from: string; to: string },
): Promise<void> {
  w.publish({
    type: `${what.prefix}.STATE.CHANGE`,
    description: `${what.type} ${what.uuid ?? what.id}: ${result.from} --${what.event}--> ${result.to}`,
    resourceType: what.type,
    resourceId: what.id,
    ...(what.uuid ? { resourceUuid: what.uuid } : {}),
    ...(what.accountId !== undefined ? { accountId: what.accountId } : {}),
    ...(what.domainId !== undefined ? { domainId: what.domainId } : {}),
    parameters: { machine: what.machine, from: result.from, event: what.event, to: result.to },
  });
}
