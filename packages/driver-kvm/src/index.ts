export {
  type BridgeBackend,
  cpuShares,
  type DomainXmlOptions,
  defaultBridge,
  diskElement,
  diskSerial,
  domainXml,
  interfaceElement,
  vlanOf,
} from './domain-xml.js';
export {
  defaultHostKeyPolicy,
  type HostKeyPolicy,
  hostVerifier,
  knownHostKeys,
  sha256Fingerprint,
} from './host-key.js';
export { KvmDriver, kvmDriver } from './kvm-driver.js';
export type { KvmDriverOptions } from './kvm-options.js';
export type {
  DomainState,
  DomainSummary,
  HostFiles,
  LibvirtTransport,
  NodeInfo,
  TransferProgress,
  VirshOptions,
} from './libvirt-transport.js';
export { LocalVirshTransport } from './local-transport.js';
export { NativeTransport, nativeBindingAvailable } from './native-transport.js';
export { nameUuidFromBytes, type SecondaryPool, secondaryPool } from './secondary-pool.js';
export { SessionVirshTransport } from './session-transport.js';
export { SftpFiles } from './sftp-files.js';
export { shellCommand, shellQuote } from './shell-quote.js';
export {
  connectionLost,
  isConnectionLost,
  type OpenChannel,
  type RemoteChannel,
  type SshEndpoint,
  SshSession,
} from './ssh-session.js';
export { SshVirshTransport } from './ssh-transport.js';
export { virshError, virshErrorCode } from './virsh-error.js';
export { type Deadline, sessionCommand, VirshProcess, type VirshReply } from './virsh-process.js';
export { virshLine, virshQuote } from './virsh-quote.js';
export { parseDomState, parseNodeInfo } from './virsh-transport.js';
