import type { Writer } from '../context.js';
import type { VirtualMachine } from '../model/records.js';
import { type VmEvent, vmStateMachine } from '../model/state-machines/index.js';
import type { CasResult } from '../store/cas.js';

/**
 * A VM's compare-and-set state transition in `w`'s transaction (ARCHITECTURE.md, "State changes
 * are compare-and-set"): `event` from the state and version `vm` was read with, writing `set` with
 * the new state, and its `VM.STATE.CHANGE` published after commit. `ConcurrentModificationError`
 * when the row moved since it was read; `NoTransitionError` for an event its state does not take.
 */
export function transitionVm(
  w: Writer,
  vm: Pick<VirtualMachine, 'id' | 'uuid' | 'state' | 'updatedCount' | 'accountId' | 'domainId'>,
  event: VmEvent,
  set: Record<string, unknown>,
): Promise<CasResult<VirtualMachine['state']>> {
  return w.transition({
    table: 'vmInstances',
    id: vm.id,
    machine: vmStateMachine,
    event,
    expect: { state: vm.state, version: vm.updatedCount },
    set,
    resource: { type: 'VirtualMachine', uuid: vm.uuid, accountId: vm.accountId, domainId: vm.domainId },
    eventPrefix: 'VM',
  });
}
