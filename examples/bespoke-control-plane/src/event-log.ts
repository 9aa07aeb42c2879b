import { type Cloud, isStateChange } from '@stratus/core';

/** VM state changes seen on the cloud's event bus, as `from → to` counts. */
export interface VmEventLog {
  transitions: Map<string, number>;
  stop(): void;
}

/**
 * Subscribes to VM state changes (delivered after their transaction commits): counts every
 * transition and prints the ones an operator wants to see live, VMs failing and VMs going away.
 */
export function watchVmStates(
  cloud: Cloud,
  accountName: (id: number | null) => string,
  print: (line: string) => void,
): VmEventLog {
  const transitions = new Map<string, number>();
  const stop = cloud.events.on('VM.STATE.CHANGE', (event) => {
    if (!isStateChange(event)) return;
    const { from, to } = event.parameters;
    const key = `${from} → ${to}`;
    transitions.set(key, (transitions.get(key) ?? 0) + 1);
    if (to === 'Error' || to === 'Expunging') {
      print(`  event    VM ${event.resourceId} of ${accountName(event.accountId)}: ${key}`);
    }
  });
  return { transitions, stop };
}
