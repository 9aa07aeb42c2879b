import { describe, expect, it } from 'vitest';
import { envelope, escapeXml, leaf } from '../src/soap-xml.js';
import { parseTrafficLabel, portGroupName, vlanOf } from '../src/traffic-label.js';
import { decodeInventoryName, encodeInventoryName, parseDatastorePath } from '../src/vsphere-driver.js';
import { parseVsphereUrl } from '../src/vsphere-url.js';
import { parseXml } from '../src/xml-node.js';

describe('traffic labels (CloudStack grammar ["name"][,"vlan"[,"type"]])', () => {
  it('fills defaults by switch type and reads quoted parts', () => {
    expect(parseTrafficLabel('')).toEqual({ switchName: 'vSwitch0', switchType: 'vmwaresvs' });
    expect(parseTrafficLabel('', 'vmwaredvs')).toEqual({ switchName: 'dvSwitch0', switchType: 'vmwaredvs' });
    expect(parseTrafficLabel(',,nexusdvs')).toEqual({ switchName: 'epp0', switchType: 'nexusdvs' });
    expect(parseTrafficLabel('"vSwitch1","100","vmwaresvs"')).toEqual({
      switchName: 'vSwitch1',
      vlan: '100',
      switchType: 'vmwaresvs',
    });
    expect(parseTrafficLabel('dvs-a,,vmwaredvs')).toEqual({ switchName: 'dvs-a', switchType: 'vmwaredvs' });
  });
  it('refuses unknown types, bad VLANs and extra parts with InvalidParameterError', () => {
    for (const bad of ['vSwitch0,,vmwarexx', 'vSwitch0,abc', 'a,1,vmwaresvs,x'])
      expect(() => parseTrafficLabel(bad)).toThrowError(
        expect.objectContaining({ code: 'INVALID_PARAMETER', field: 'trafficLabel', value: bad }),
      );
  });
  it('names port groups as CloudStack does', () => {
    expect(portGroupName('Guest', 600, undefined, 'vSwitch0')).toBe('cloud.guest.600.0.1-vSwitch0');
    expect(portGroupName('Public', 100, 200, 'vSwitch0')).toBe('cloud.public.100.200.1-vSwitch0');
    expect(portGroupName('Management', undefined, 0, 'vSwitch1')).toBe('cloud.private.untagged.0.1-vSwitch1');
    expect(vlanOf('vlan://4094')).toBe(4094);
    expect(vlanOf('vlan://untagged')).toBeUndefined();
    expect(() => vlanOf('vlan://4095')).toThrowError(expect.objectContaining({ field: 'broadcastUri' }));
  });
});

describe('cluster URLs and names', () => {
  it('parses vmware:// and https:// cluster URLs with an optional host', () => {
    expect(parseVsphereUrl('vmware://vc.example/DC1/Cluster%201')).toEqual({
      origin: 'https://vc.example',
      datacenter: 'DC1',
      cluster: 'Cluster 1',
    });
    expect(parseVsphereUrl('https://vc:8443/dc/c/esx-1')).toEqual({
      origin: 'https://vc:8443',
      datacenter: 'dc',
      cluster: 'c',
      host: 'esx-1',
    });
    for (const bad of ['nfs://vc/dc/c', 'vmware://vc/dc', 'vmware:///dc/c', 'not a url'])
      expect(() => parseVsphereUrl(bad)).toThrowError(
        expect.objectContaining({ code: 'INVALID_PARAMETER', field: 'url' }),
      );
  });
  it('escapes inventory names as vSphere does and reads datastore paths', () => {
    const name = 'a/b\\c%d "e" <f> & é';
    expect(encodeInventoryName(name)).toBe('a%2fb%5cc%25d "e" <f> & é');
    expect(decodeInventoryName(encodeInventoryName(name))).toBe(name);
    expect(parseDatastorePath('[LocalDS_0] stratus-volumes/x.vmdk')).toEqual({
      datastore: 'LocalDS_0',
      path: 'stratus-volumes/x.vmdk',
    });
    expect(() => parseDatastorePath('/no/brackets')).toThrowError(expect.objectContaining({ field: 'path' }));
  });
  it('an envelope carries quotes, markup and non-ASCII text unchanged, and refuses what XML cannot carry', async () => {
    const text = `i-2-7-VM "q" 'a' <b> & c é 漢字`;
    const doc = await parseXml(envelope(leaf('name', text)));
    expect(doc.children[0]!.children[0]!.text).toBe(text);
    expect(() => escapeXml('bell\u0007')).toThrow(RangeError);
  });
});
