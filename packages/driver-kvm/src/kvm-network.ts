import type { CheckNetworkResult, HostRef, OperationContext, TrafficLabelCheck } from '@stratus/core';
import { KvmTemplates } from './kvm-templates.js';

/** KVM network plumbing: traffic labels and per-VLAN bridges. */
export abstract class KvmNetwork extends KvmTemplates {
  checkNetwork(
    ref: HostRef,
    labels: readonly TrafficLabelCheck[],
    ctx?: OperationContext,
  ): Promise<CheckNetworkResult> {
    return this.op(
      ref,
      async (h) => {
        const names = new Set(await this.interfaceNames(h.transport));
        const unresolved = labels.filter((l) => !names.has(l.label));
        return { ok: unresolved.length === 0, unresolved };
      },
      ctx,
    );
  }
}
