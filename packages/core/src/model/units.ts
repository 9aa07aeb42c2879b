/** Bytes in a gibibyte (CloudStack sizes disks and memory limits in GiB). */
export const GiB = 1024 ** 3;
