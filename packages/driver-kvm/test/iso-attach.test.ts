import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmFacts, kvmSkipReason } from '../../testkit/src/harness/kvm-peers.js';
import { type KvmDriver, kvmDriver } from '../src/index.js';
import { sshTarget, tinyVm } from './kvm-fixtures.js';

const facts = kvmFacts();

describe.skipIf(facts === null)(
  `ISOs on KVM against libvirt's test driver ${facts === null ? `(skipped: ${kvmSkipReason()})` : ''}`,
  () => {
    const tag = `iso${process.pid}`;
    let d: KvmDriver;
    let guid: string;
    const iso = (path: string) => ({
      volumeUuid: `iso-${tag}`,
      type: 'ISO' as const,
      deviceId: 3,
      path,
      format: 'iso' as const,
      sizeBytes: 1024,
      readOnly: true,
    });

    beforeAll(async () => {
      d = kvmDriver({ hostKey: { knownHostsFile: facts!.knownHostsFile }, domainType: 'test', vncPort: 5913 });
      guid = (await d.connect(sshTarget(facts!)))[0]!.guid;
    });
    afterAll(async () => d?.close());

    const cdroms = async (name: string) => {
      const xml = await d.transportOf({ guid }).domainXml(name, true);
      return [...xml.matchAll(/<disk[^>]*device=['"]cdrom['"][\s\S]*?<\/disk>/g)].map((m) => m[0]);
    };

    it('a VM started with an ISO boots from its CD-ROM first', async () => {
      const name = `i-${tag}-boot`;
      await d.startVm({ guid }, tinyVm(name, { bootOrder: ['cdrom', 'hd'], disks: [iso('/srv/isos/boot.iso')] }));
      const xml = await d.transportOf({ guid }).domainXml(name);
      expect(xml).toMatch(/<boot dev=['"]cdrom['"]\/>\s*<boot dev=['"]hd['"]\/>/);
      expect((await cdroms(name))[0]).toContain('/srv/isos/boot.iso');
      await d.destroyVm({ guid }, name);
    });

    it('attachIso and detachIso on a stopped VM; again is a no-op, another ISO is refused', async () => {
      const name = `i-${tag}-stop`;
      await d.startVm({ guid }, tinyVm(name));
      await d.stopVm({ guid }, name, { force: true });
      await d.attachIso({ guid }, name, iso('/srv/isos/a.iso'));
      expect((await cdroms(name)).join()).toContain('/srv/isos/a.iso');
      await d.attachIso({ guid }, name, iso('/srv/isos/a.iso'));
      expect(await cdroms(name)).toHaveLength(1);
      await expect(d.attachIso({ guid }, name, iso('/srv/isos/b.iso'))).rejects.toMatchObject({
        driverCode: 'AlreadyExists',
      });
      await d.detachIso({ guid }, name, iso('/srv/isos/a.iso'));
      expect((await cdroms(name)).join()).not.toContain('/srv/isos/a.iso');
      await d.detachIso({ guid }, name, iso('/srv/isos/a.iso'));
      await d.destroyVm({ guid }, name);
    });

    it('a live insert the host cannot do is a typed Unsupported error and leaves the definition as it was', async () => {
      // libvirt's test driver has no device hot-plug (virDomainAttachDeviceFlags); a real QEMU host does it
      const name = `i-${tag}-run`;
      await d.startVm({ guid }, tinyVm(name));
      await expect(d.attachIso({ guid }, name, iso('/srv/isos/a.iso'))).rejects.toMatchObject({
        driverCode: 'Unsupported',
      });
      expect(await cdroms(name)).toEqual([]);
      await d.destroyVm({ guid }, name);
    });
  },
);
