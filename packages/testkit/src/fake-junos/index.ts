/**
 * `@stratus/testkit/fake-junos`: a Juniper SRX as a NETCONF-over-SSH server on loopback, for driver tests.
 */
export {
  FakeJunos,
  type FakeJunosDump,
  type FakeJunosFault,
  type FakeJunosOptions,
  type FakeJunosRequest,
  startFakeJunos,
} from './fake-junos.js';
export type { JunosRpcError } from './junos-config.js';
export { type JunosViewLayout, junosDeviceView } from './junos-device-view.js';
export { at, child, childrenOf, parseXml, textOf, toXml, type XmlNode } from './junos-xml.js';
