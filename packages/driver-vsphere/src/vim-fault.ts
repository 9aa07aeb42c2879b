import { DriverError, type DriverErrorCode, type DriverErrorScope } from '@stratus/core';
import { child, type XNode } from './xml-node.js';

/**
 * A vSphere fault as found in one of the three places it hides (drivers.md §11 pitfall 6): a SOAP `detail`
 * (`<{Type}Fault xsi:type="{Type}">`), a task's `info.error.fault`, or a `missingSet` entry of an HTTP-200 retrieve.
 */
export interface VimFault {
  /** The fault's type, e.g. `InvalidPowerState`, read from `xsi:type` (or the detail element's name). */
  type: string;
  /** `faultstring` or `localizedMessage` (often empty for vSphere faults). */
  message: string;
  /** The fault's own fields as text (`requestedState`, `existingState`, `name`, `invalidProperty`…). */
  fields: Readonly<Record<string, string>>;
}

/** Reads a fault element (`<InvalidPowerStateFault xsi:type="InvalidPowerState">…`, or a `fault` of a task error). */
export function faultOf(node: XNode, message: string): VimFault {
  const type = node.xsiType ?? node.name.replace(/Fault$/, '');
  const fields: Record<string, string> = {};
  for (const c of node.children) if (c.children.length === 0) fields[c.name] = c.text;
  return { type, message, fields };
}

/** The fault of a SOAP `<soapenv:Fault>` element (`faultstring` + the single element in `detail`). */
export function soapFaultOf(fault: XNode): VimFault {
  const message = child(fault, 'faultstring')?.text ?? '';
  const detail = child(fault, 'detail')?.children[0];
  if (detail === undefined) return { type: child(fault, 'faultcode')?.text ?? 'SoapFault', message, fields: {} };
  return faultOf(detail, message);
}

const CODE_OF_FAULT: Readonly<Record<string, DriverErrorCode>> = {
  NotAuthenticated: 'AuthFailed',
  InvalidLogin: 'AuthFailed',
  NoPermission: 'AuthFailed',
  ManagedObjectNotFound: 'NotFound',
  NotFound: 'NotFound',
  FileNotFound: 'NotFound',
  InvalidDatastorePath: 'NotFound',
  DuplicateName: 'AlreadyExists',
  FileAlreadyExists: 'AlreadyExists',
  AlreadyExists: 'AlreadyExists',
  InvalidPowerState: 'InvalidState',
  InvalidState: 'InvalidState',
  InvalidHostState: 'InvalidState',
  InvalidDatastoreState: 'InvalidState',
  TaskInProgress: 'InvalidState',
  VmConfigFault: 'InvalidState',
  MigrationFault: 'InvalidState',
  InsufficientResourcesFault: 'InsufficientCapacity',
  InsufficientMemoryResourcesFault: 'InsufficientCapacity',
  InsufficientHostCapacityFault: 'InsufficientCapacity',
  InsufficientCpuResourcesFault: 'InsufficientCapacity',
  NoDiskSpace: 'InsufficientCapacity',
  NotSupported: 'Unsupported',
  NotImplemented: 'Unsupported',
  MethodNotFound: 'Unsupported',
  MethodDisabled: 'Unsupported',
  RequestCanceled: 'Timeout',
  Timedout: 'Timeout',
  HostNotConnected: 'Unreachable',
  HostNotReachable: 'Unreachable',
  HostCommunication: 'Unreachable',
};

/** The driver code a fault type maps to (`DeviceError` for the rest). */
export function driverCodeOfFault(type: string): DriverErrorCode {
  return CODE_OF_FAULT[type] ?? 'DeviceError';
}

/** What the failing call was, for the error message. */
export interface FaultContext {
  /** The method (`PowerOnVM_Task`) or what was being done. */
  operation: string;
  scope?: DriverErrorScope;
}

/** A typed {@link DriverError} for a vSphere fault: `vendorCode` is the fault type, `details.fault` its fields. */
export function driverErrorOfFault(fault: VimFault, context: FaultContext): DriverError {
  const fields = Object.entries(fault.fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const what = `${fault.type}${fields ? ` (${fields})` : ''}${fault.message ? `: ${fault.message}` : ''}`;
  return new DriverError(driverCodeOfFault(fault.type), `vSphere ${context.operation} failed: ${what}`, {
    vendorCode: fault.type,
    vendorMessage: fault.message,
    details: { fault: { type: fault.type, ...fault.fields }, operation: context.operation },
    ...(context.scope ? { scope: context.scope } : {}),
  });
}

/** Whether `error` is the driver error of a vSphere fault of one of `types`. */
export function isFault(error: unknown, ...types: string[]): error is DriverError {
  return error instanceof DriverError && typeof error.vendorCode === 'string' && types.includes(error.vendorCode);
}
