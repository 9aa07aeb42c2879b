import type { VmSpec } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { domainXml } from '../src/domain-xml.js';
import { shellCommand } from '../src/shell-quote.js';
import { attr, child, children, parseXml, text } from '../src/xml.js';

const GiB = 1024 ** 3;
const spec = (o: Partial<VmSpec> = {}): VmSpec => ({
  name: 'i-2-10-VM',
  uuid: '5b1f7a52-1111-2222-3333-444455556666',
  type: 'User',
  cpus: 2,
  cpuMhz: 1500,
  minRamBytes: GiB,
  maxRamBytes: 2 * GiB,
  bootOrder: ['cdrom', 'hd'],
  osType: 'Debian GNU/Linux 12 (64-bit)',
  bootArgs: '',
  vncPassword: 'vncpw',
  disks: [
    {
      volumeUuid: 'aaaa-bbbb-cccc',
      type: 'ROOT',
      deviceId: 0,
      path: '/mnt/p/root vol',
      format: 'qcow2',
      sizeBytes: GiB,
      readOnly: false,
    },
    {
      volumeUuid: 'iso-1',
      type: 'ISO',
      deviceId: 3,
      path: '/mnt/p/boot.iso',
      format: 'iso',
      sizeBytes: 1,
      readOnly: true,
    },
  ],
  nics: [
    {
      deviceId: 1,
      mac: '06:00:00:00:00:02',
      isDefault: false,
      trafficType: 'Public',
      trafficLabel: 'cloudbr0',
      broadcastUri: 'vlan://untagged',
    },
    {
      deviceId: 0,
      mac: '06:00:00:00:00:01',
      isDefault: true,
      trafficType: 'Guest',
      trafficLabel: 'cloudbr1',
      broadcastUri: 'vlan://100',
      networkRateMbps: 100,
    },
  ],
  details: {},
  ...o,
});
const dom = (s: VmSpec, backend: 'linux' | 'openvswitch' = 'linux') =>
  child(
    parseXml(domainXml(s, { domainType: 'kvm', bridgeBackend: backend, bridges: new Map([[0, 'breth1-100']]) })),
    'domain',
  );

describe('domain XML from a VmSpec', () => {
  it('vCPUs, memory (max/current), CPU shares from MHz, CPU mode', () => {
    const d = dom(spec({ cpuMode: 'host-passthrough' }));
    expect(attr(d, 'type')).toBe('kvm');
    expect(text(d, 'vcpu')).toBe('2');
    expect(text(d, 'memory')).toBe(String((2 * GiB) / 1024));
    expect(text(d, 'currentMemory')).toBe(String(GiB / 1024));
    expect(text(child(d, 'cputune'), 'shares')).toBe('3000');
    expect(attr(child(d, 'cpu'), 'mode')).toBe('host-passthrough');
  });
  it('boot order, ACPI, lifecycle actions', () => {
    const d = dom(spec());
    expect(children(child(d, 'os'), 'boot').map((b) => attr(b, 'dev'))).toEqual(['cdrom', 'hd']);
    expect(child(d, 'features')).toHaveProperty('acpi');
    expect(text(d, 'on_poweroff')).toBe('destroy');
  });
  it('disks in device order with serials; ISO as read-only cdrom', () => {
    const disks = children(child(d0(), 'devices'), 'disk');
    expect(attr(child(disks[0], 'source'), 'file')).toBe('/mnt/p/root vol');
    expect(attr(child(disks[0], 'target'), 'dev')).toBe('vda');
    expect(text(disks[0], 'serial')).toBe('aaaabbbbcccc');
    expect(attr(disks[1], 'device')).toBe('cdrom');
    expect(disks[1]).toHaveProperty('readonly');
  });
  it('NICs in device order on the VLAN bridge (Linux) with rate limit; OVS uses tag', () => {
    const nics = children(child(d0(), 'devices'), 'interface');
    expect(attr(child(nics[0], 'mac'), 'address')).toBe('06:00:00:00:00:01');
    expect(attr(child(nics[0], 'source'), 'bridge')).toBe('breth1-100');
    expect(attr(child(nics[0], 'bandwidth')?.inbound, 'average')).toBe('12207');
    expect(attr(child(nics[1], 'source'), 'bridge')).toBe('cloudbr0');
    const ovs = children(child(dom(spec(), 'openvswitch'), 'devices'), 'interface');
    expect(attr(child(child(ovs[0], 'vlan'), 'tag'), 'id')).toBe('100');
    expect(attr(child(ovs[0], 'virtualport'), 'type')).toBe('openvswitch');
  });
  it('VNC console with password; hostile names are escaped, not markup', () => {
    const hostile = `x'"<a>&$(rm -rf /);`;
    const d = dom(spec({ name: hostile }));
    expect(text(d, 'name')).toBe(hostile);
    const g = children(child(d, 'devices'), 'graphics')[0];
    expect(attr(g, 'type')).toBe('vnc');
    expect(attr(g, 'passwd')).toBe('vncpw');
  });
  it('shell quoting leaves nothing for the remote shell to expand', () => {
    expect(shellCommand(['virsh', 'start', "a'b; $(x)"])).toBe(`virsh start 'a'\\''b; $(x)'`);
  });
});
function d0() {
  return dom(spec());
}
