import { nativeBindingAvailable } from '@stratus/driver-kvm';
import { findLibvirtTools } from '@stratus/testkit/libvirt-test-daemon';

/** Something the KVM demo needs that this machine lacks, and how to get it. */
export interface MissingPrerequisite {
  what: string;
  fix: string;
}

/**
 * What `--hypervisor kvm` needs and this machine lacks (empty: everything is there): `virsh` (Debian package
 * `libvirt-clients`), `libvirtd` (`libvirt-daemon`), `unshare` (`util-linux`), root (the demo starts its own
 * libvirtd daemons, each under its own host name), and the native libvirt binding `@unraid/libvirt` (an optional
 * dependency of `@stratus/driver-kvm`, built at `npm install` when libvirt's headers are there).
 */
export async function missingKvmPrerequisites(): Promise<MissingPrerequisite[]> {
  const tools = findLibvirtTools();
  const missing: MissingPrerequisite[] = [];
  if (tools.virsh === undefined) missing.push({ what: 'virsh', fix: 'apt-get install libvirt-clients' });
  if (tools.libvirtd === undefined) missing.push({ what: 'libvirtd', fix: 'apt-get install libvirt-daemon' });
  if (tools.unshare === undefined) missing.push({ what: 'unshare', fix: 'apt-get install util-linux' });
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    missing.push({
      what: 'root',
      fix: 'run it as root (it starts libvirtd daemons, each in its own UTS namespace): sudo npm run demo -- --hypervisor kvm',
    });
  if (!(await nativeBindingAvailable()))
    missing.push({
      what: 'the native libvirt binding @unraid/libvirt',
      fix: 'apt-get install libvirt-dev build-essential python3, then npm install (it is an optional dependency of @stratus/driver-kvm)',
    });
  return missing;
}

/** The message printed when something is missing: what, and the commands that fix it. */
export function describeMissing(missing: readonly MissingPrerequisite[]): string {
  return [
    "The KVM demo runs @stratus/driver-kvm against libvirt installed on this machine (libvirt's test driver, in",
    'libvirtd daemons it starts and stops itself), and this machine lacks:',
    ...missing.map((m) => `  - ${m.what}: ${m.fix}`),
    'On Debian or Ubuntu, as root: apt-get install libvirt-clients libvirt-daemon',
    'Without them, `npm run demo` runs the same demo on the simulator.',
  ].join('\n');
}
