import type {
  CheckNetworkResult,
  HostRef,
  NetworkCleanupResult,
  NetworkSetupResult,
  NicSpec,
  OperationContext,
  TrafficLabelCheck,
} from '@stratus/core';
import { vlanOf } from './domain-xml.js';
import { KvmSnapshots } from './kvm-snapshots.js';
import { attr, child, children } from './xml.js';

/** KVM network plumbing: traffic labels and per-VLAN bridges. */
export abstract class KvmNetwork extends KvmSnapshots {
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

  setupNetwork(ref: HostRef, nic: NicSpec, ctx?: OperationContext): Promise<NetworkSetupResult> {
    return this.locks.run(`net:${ref.guid}`, () => this.op(ref, (h) => this.plumb(h, nic), ctx));
  }

  cleanupNetwork(ref: HostRef, nic: NicSpec, ctx?: OperationContext): Promise<NetworkCleanupResult> {
    return this.locks.run(`net:${ref.guid}`, () =>
      this.op(
        ref,
        async (h) => {
          const vlan = vlanOf(nic);
          if (vlan === undefined || this.backend === 'openvswitch') return { removed: false };
          const names = new Set(await this.interfaceNames(h.transport));
          const pif = await this.pifOf(h, nic.trafficLabel);
          const name = `br${pif}-${vlan}`;
          if (!names.has(name)) return { removed: false };
          const users = await this.domainsUsing(h, (d) =>
            children(child(d, 'devices'), 'interface').some((i) => attr(child(i, 'source'), 'bridge') === name),
          );
          if (users.length > 0) return { removed: false };
          await h.transport.virsh(['iface-destroy', '--', name]).catch(() => undefined);
          await h.transport.virsh(['iface-undefine', '--', name]);
          return { removed: true };
        },
        ctx,
      ),
    );
  }
}
