import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ImageStoreDriver, localImageStoreDriver } from '@stratus/core';

/**
 * An OVF 1.0 descriptor of a one-disk VM, written by hand from DMTF's OVF schema and VMware's examples (not by the
 * driver's own writer), for the test template.
 */
export const TEST_OVF = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:id="f1" ovf:href="tiny-disk1.vmdk" ovf:size="4096"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:diskId="d1" ovf:fileRef="f1" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="tiny">
    <Info>tiny test VM</Info>
    <VirtualHardwareSection>
      <Info>hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>1 vCPU</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>256 MB</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>256</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/d1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;

/** Writes `tiny.ova` (the descriptor first, then the disk, with GNU tar) and `tiny.iso` into `dir`. */
export function writeTestImages(dir: string): { ova: string; iso: string } {
  mkdirSync(`${dir}/ova`, { recursive: true });
  writeFileSync(`${dir}/ova/tiny.ovf`, TEST_OVF);
  writeFileSync(`${dir}/ova/tiny-disk1.vmdk`, Buffer.alloc(4096, 3));
  execFileSync('tar', ['-C', `${dir}/ova`, '--format=ustar', '-cf', `${dir}/tiny.ova`, 'tiny.ovf', 'tiny-disk1.vmdk']);
  writeFileSync(`${dir}/tiny.iso`, Buffer.alloc(64 * 1024, 9));
  return { ova: `${dir}/tiny.ova`, iso: `${dir}/tiny.iso` };
}

/** Serves files over http on loopback, as a web server an admin registers templates from. */
export async function fileServer(files: Readonly<Record<string, string>>): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Core's local image store, whose directory for each store (`<root>/<store uuid>`) is recorded in `mounts` under the
 * store's URL the first time it is used: the management server's mount of that secondary storage, where the vSphere
 * driver reads OVAs and ISOs and writes templates.
 */
export function mountedImageStore(root: string, mounts: Record<string, string>): ImageStoreDriver {
  const inner = localImageStoreDriver({ root });
  const remember = (store: { uuid: string; url: string }) => {
    mounts[store.url] = `${root}/${store.uuid}`;
  };
  return {
    async download(store, request, options) {
      remember(store);
      return inner.download(store, request, options);
    },
    delete: (store, objectPath, options) => {
      remember(store);
      return inner.delete(store, objectPath, options);
    },
    stat: (store, objectPath, options) => {
      remember(store);
      return inner.stat(store, objectPath, options);
    },
  };
}
