import { DriverError, type DriverErrorCode, type DriverErrorScope } from '@stratus/core';

/** One rule of {@link virshErrorCode}: a pattern of the libvirt/virsh message and the typed code it maps to. */
const RULES: ReadonlyArray<readonly [RegExp, DriverErrorCode]> = [
  [/authentication (failed|unavailable)|permission denied \(publickey|access denied/i, 'AuthFailed'],
  [
    /failed to connect to the hypervisor|cannot recv data|end of file while reading data|connection reset|broken pipe|no route to host|connection refused|failed to connect socket|unable to connect to server/i,
    'Unreachable',
  ],
  [
    /domain not found|failed to get domain|no domain with matching|storage pool not found|failed to get pool|no storage pool with matching|storage volume not found|failed to get vol|no storage vol with matching|network not found|interface not found|snapshot not found|domain snapshot not found|no such file/i,
    'NotFound',
  ],
  [/already exists|is already defined with uuid|already in use/i, 'AlreadyExists'],
  [
    /not supported by the connection driver|this function is not supported|unsupported flags|unsupported configuration|operation not supported|argument unsupported/i,
    'Unsupported',
  ],
  [/cannot allocate memory|not enough (space|memory)|insufficient|no space left/i, 'InsufficientCapacity'],
  [
    /requested operation is not valid|domain is not running|domain is already (active|running)|is not active|is already active|domain has active|cannot undefine transient/i,
    'InvalidState',
  ],
  [/timed out|timeout/i, 'Timeout'],
];

/** The typed code for a libvirt/virsh error message (`DeviceError` when nothing more specific matches). */
export function virshErrorCode(message: string): DriverErrorCode {
  for (const [pattern, code] of RULES) if (pattern.test(message)) return code;
  return 'DeviceError';
}

/** The `error: …` lines virsh writes to stderr, joined; the whole stderr when it has none. */
export function virshErrorText(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('error:'))
    .map((l) => l.slice('error:'.length).trim());
  return lines.length > 0 ? lines.join('; ') : stderr.trim();
}

/**
 * The {@link DriverError} for a failed virsh command: the code from the message, the verbatim message as
 * `vendorMessage`, the exit status (or libvirt error number) as `vendorCode`.
 */
export function virshError(
  command: string,
  stderr: string,
  exitCode: number | string | null,
  scope?: DriverErrorScope,
): DriverError {
  const text = virshErrorText(stderr) || `exit ${exitCode}`;
  const code = virshErrorCode(text);
  return new DriverError(code, `kvm: virsh ${command} failed: ${text}`, {
    vendorMessage: text,
    ...(exitCode !== null ? { vendorCode: exitCode } : {}),
    ...(scope !== undefined ? { scope } : {}),
  });
}
