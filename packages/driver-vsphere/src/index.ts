/**
 * `@stratus/driver-vsphere`: VMware vCenter through the vSphere SOAP API (drivers.md §5): a CloudStack
 * cluster is a vSphere cluster, primary storage a datastore, templates template VMs cloned with
 * `CloneVM_Task`.
 *
 * @packageDocumentation
 */
export { parseTrafficLabel, portGroupName, type TrafficLabel, type VirtualSwitchType } from './traffic-label.js';
export type { VimTlsOptions } from './vim-http.js';
export type { VimLogger } from './vim-logger.js';
export { VsphereDriver, vsphereDriver } from './vsphere-driver.js';
export type { VsphereDriverOptions } from './vsphere-options.js';
