import type { Writer } from '../context.js';
import type { DiskSpec, NicSpec, VmSpec } from '../driver/vm-spec.js';
import type { ServiceOffering, Template, VirtualMachine } from '../model/records.js';
import { Repo } from '../resources/repo.js';
import { decoder } from '../store/codec.js';

export const vmRepo = new Repo<VirtualMachine>(
  'vmInstances',
  'VirtualMachine',
  decoder<VirtualMachine>({ bool: ['haEnabled'], json: ['details'] }),
  ['displayName', 'hostName', 'instanceName'],
);

const MiB = 1024 * 1024;

/** CloudStack's instance name: `i-<accountId>-<vmId>-<instance.name>`, e.g. `i-8-42-VM`. */
export const instanceName = (accountId: number, vmId: number, suffix: string): string =>
  `i-${accountId}-${vmId}-${suffix}`;

/** What a VM keeps in `details`. */
export interface VmDetails {
  displayGroup?: string;
  keypair?: string;
  /** base64, as given. */
  userData?: string;
  /** A password reset waiting for the VM's next start (never the password in clear). */
  passwordPending?: boolean;
}

/** The start spec a driver gets (CloudStack's VirtualMachineTO). */
export function vmSpec(
  vm: VirtualMachine,
  offering: ServiceOffering,
  template: Template | null,
  disks: readonly DiskSpec[],
  nics: readonly NicSpec[],
  vncPassword: string,
): VmSpec {
  return {
    name: vm.instanceName,
    uuid: vm.uuid,
    type: vm.type as VmSpec['type'],
    cpus: offering.cpuNumber,
    cpuMhz: offering.cpuSpeed,
    minRamBytes: offering.memory * MiB,
    maxRamBytes: offering.memory * MiB,
    bootOrder: template?.isIso ? ['cdrom', 'hd'] : ['hd', 'cdrom', 'network'],
    osType: template?.osType ?? 'Other',
    bootArgs: '',
    vncPassword,
    disks,
    nics,
    details: { hostName: vm.hostName, ...(offering.limitCpuUse ? { limitCpuUse: 'true' } : {}) },
  };
}

/** Records a VM usage event (VM.CREATE, VM.START, VM.STOP, VM.DESTROY, VM.UPGRADE) in `w`'s transaction. */
export function vmUsage(w: Writer, type: string, vm: VirtualMachine): Promise<void> {
  return w.usage({
    type,
    accountId: vm.accountId,
    domainId: vm.domainId,
    zoneId: vm.zoneId,
    resourceId: vm.id,
    resourceName: vm.instanceName,
    offeringId: vm.serviceOfferingId,
    templateId: vm.templateId,
    resourceType: vm.hypervisorType,
  });
}
