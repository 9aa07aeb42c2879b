/**
 * @stratus/driver-xen — XenServer and XCP-ng through XAPI (drivers.md §4).
 */
export { toDriverError, XapiError, XapiTransportError } from './xapi-error.js';
export { type XapiPoolOptions, XapiPoolSession, type XapiTaskOptions } from './xapi-pool-session.js';
export {
  type XapiCallOptions,
  XapiEndpoint,
  type XapiProtocol,
  type XapiTlsOptions,
  xapiHttpsAgent,
} from './xapi-transport.js';
export { XenDriver, xenDriver } from './xen-driver.js';
export { labelNetwork, nicNetwork, vlanTag } from './xen-network.js';
export type { XenDriverOptions } from './xen-options.js';
export { XapiDouble, xmlRpcRequest, xmlRpcResponse } from './xml-rpc.js';
