/**
 * `@stratus/driver-srx`: Juniper SRX as the firewall, NAT and gateway of guest networks (drivers.md §7), over
 * NETCONF on SSH.
 */

export { names as srxNames } from './junos-names.js';
export { type NetconfReply, type NetconfRpcError, NetconfSession, type NetconfTarget } from './netconf-session.js';
export { SrxDevice } from './srx-device.js';
export { srxDriver } from './srx-driver.js';
export { SRX_DEFAULTS, type SrxDriverOptions, type SrxHostKeyCheck } from './srx-options.js';
