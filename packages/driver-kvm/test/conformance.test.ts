import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe } from 'vitest';
import { hypervisorDriverConformanceSuite } from '../../testkit/src/driver-conformance.js';
import { kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { kvmDriver, nativeBindingAvailable } from '../src/index.js';

const facts = kvmFacts();
const native = await nativeBindingAvailable();

function template(dir: string, tag: string) {
  const file = `${dir}/template-${tag}.qcow2`;
  writeFileSync(file, Buffer.alloc(256 * 1024, 7));
  return {
    uuid: `tmpl-${tag}-${process.pid}`,
    name: `template ${tag}`,
    url: pathToFileURL(file).href,
    format: 'qcow2' as const,
    sizeBytes: 1024 ** 3,
  };
}

for (const transport of ['session', 'exec'] as const) {
  describe.skipIf(facts === null)(
    `kvm over ssh (${transport}) ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
    () => {
      hypervisorDriverConformanceSuite(`kvm: virsh ${transport} over a real sshd → libvirtd test driver`, async () => {
        const f = facts!;
        // libvirt refuses two pools on one directory: each suite gets its own, writable by the SSH user
        const poolPath = `${f.poolDir}/${transport}`;
        mkdirSync(poolPath, { recursive: true });
        chmodSync(poolPath, 0o777);
        return {
          driver: kvmDriver({
            hostKey: { knownHostsFile: f.knownHostsFile },
            transport,
            domainType: 'test',
            vncPort: 5901,
          }),
          target: {
            url: `ssh://${f.sshUser}@127.0.0.1:${f.sshPort}`,
            credentials: { username: f.sshUser, privateKey: readFileSync(f.keyFile, 'utf8') },
            details: { libvirtUri: f.libvirtUri },
          },
          prefix: `i-${transport}`,
          pool: {
            uuid: `kvm-${transport}-pool`,
            name: `kvm-${transport}-pool`,
            type: 'SharedMountPoint',
            path: poolPath,
          },
          trafficLabel: 'eth1',
          template: template(f.dir, transport),
          cannot: ['diskHotPlug'],
        };
      });
    },
  );
}

describe.skipIf(facts === null || !native)(
  `kvm native ${native ? '' : '(skipped: @unraid/libvirt not installed)'}`,
  () => {
    hypervisorDriverConformanceSuite('kvm: native binding → libvirtd test driver', async () => {
      const f = facts!;
      mkdirSync(`${f.dir}/native-pool`, { recursive: true });
      return {
        driver: kvmDriver({ mode: 'native', domainType: 'test', vncPort: 5902 }),
        target: { url: f.libvirtUri },
        prefix: 'i-native',
        pool: {
          uuid: 'kvm-native-pool',
          name: 'kvm-native-pool',
          type: 'SharedMountPoint',
          path: `${f.dir}/native-pool`,
        },
        trafficLabel: 'eth1',
        template: template(f.dir, 'native'),
        cannot: ['diskHotPlug'],
      };
    });
  },
);
