import { cloudConformanceSuite } from '../../testkit/src/cloud-conformance-suite.js';
import { simulatedImageStore, simulatorDriver } from '../src/index.js';

cloudConformanceSuite('simulator', async () => ({
  driver: simulatorDriver(),
  hosts: [
    { url: 'sim://conf-h1?ip=192.168.40.11&cpus=8&cpuMhz=2000&memoryMiB=16384&localStorageGiB=100' },
    { url: 'sim://conf-h2?ip=192.168.40.12&cpus=8&cpuMhz=2000&memoryMiB=16384&localStorageGiB=100' },
  ],
  sharedStorageUrl: 'nfs://10.0.0.5/export/conformance',
  secondSharedStorageUrl: 'nfs://10.0.0.5/export/conformance-2',
  localStorage: true,
  imageStore: { driver: simulatedImageStore(), url: 'nfs://10.0.0.6/secondary' },
  template: { url: 'http://images.example.org/conformance.qcow2', format: 'QCOW2' },
  iso: { url: 'http://images.example.org/conformance.iso' },
  trafficLabel: 'cloudbr1',
}));
