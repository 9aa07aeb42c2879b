/**
 * @stratus/driver-vsphere — VMware vCenter through the vSphere SOAP API (drivers.md §5): a CloudStack cluster is a
 * vSphere cluster, primary storage a datastore, templates template VMs cloned with `CloneVM_Task`.
 */

export * from './ova.js';
export * from './property-collector.js';
export * from './soap-xml.js';
export * from './task-waiter.js';
export * from './traffic-label.js';
export * from './vcenter.js';
export * from './vim-fault.js';
export * from './vim-http.js';
export * from './vim-logger.js';
export * from './vim-session.js';
export * from './vm-devices.js';
export * from './vsphere-driver.js';
export * from './vsphere-options.js';
export * from './vsphere-url.js';
export * from './xml-node.js';
