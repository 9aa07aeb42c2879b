import type { DiskFormat } from '../driver/vm-spec.js';

/** The driver disk format of an image format / hypervisor. */
export function diskFormatOf(format: string | null | undefined, hypervisorType?: string | null): DiskFormat {
  switch ((format ?? '').toUpperCase()) {
    case 'QCOW2':
      return 'qcow2';
    case 'RAW':
      return 'raw';
    case 'VHD':
    case 'VHDX':
      return 'vhd';
    case 'OVA':
      return 'ova';
    case 'VMDK':
      return 'vmdk';
    case 'ISO':
      return 'iso';
    default:
      break;
  }
  switch ((hypervisorType ?? '').toLowerCase()) {
    case 'xenserver':
    case 'hyperv':
      return 'vhd';
    case 'vmware':
      return 'vmdk';
    case 'ovm':
      return 'raw';
    default:
      return 'qcow2';
  }
}

/** The image format (upper case, as templates store it) of a driver disk format. */
export function imageFormatOf(format: DiskFormat): string {
  return format.toUpperCase();
}
