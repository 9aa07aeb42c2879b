import { hypervisorDriverConformanceSuite } from '../../testkit/src/driver-conformance.js';
import { simulatorDriver } from '../src/index.js';

hypervisorDriverConformanceSuite('simulator', async () => ({
  driver: simulatorDriver(),
  target: { url: 'sim://conformance-host1?cpus=8&memoryMiB=16384' },
  prefix: 'i-conf',
  pool: { uuid: 'conf-pool', name: 'conf-pool', type: 'NetworkFilesystem', server: '10.0.0.5', path: '/export/conf' },
  trafficLabel: 'cloudbr1',
  template: {
    uuid: 'conf-template',
    name: 'conf-template',
    url: 'nfs://10.0.0.6/secondary/template/conf.qcow2',
    format: 'qcow2',
    sizeBytes: 2 * 1024 ** 3,
  },
}));
