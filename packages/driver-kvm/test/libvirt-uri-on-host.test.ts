import { describe, expect, it } from 'vitest';
import { libvirtUriOnHost } from '../src/libvirt-uri-on-host.js';

const on = (url: string) => libvirtUriOnHost(new URL(url));

describe('libvirtUriOnHost: the libvirt URI virsh opens on a host reached by a libvirt URI over SSH', () => {
  it('drops the SSH hop: driver and path stay', () => {
    expect(on('qemu+ssh://root@10.0.0.11/system')).toBe('qemu:///system');
    expect(on('qemu+ssh://root@10.0.0.11:2222/session')).toBe('qemu:///session');
    expect(on('test+ssh://u@h/default')).toBe('test:///default');
  });

  it("a socket names the daemon's unix socket; parameters of the SSH hop itself are dropped", () => {
    expect(on('test+ssh://u@127.0.0.11:22/default?socket=/run/lvd/libvirt-sock&keyfile=/k&no_verify=1')).toBe(
      'test+unix:///default?socket=/run/lvd/libvirt-sock',
    );
    expect(on('QEMU+SSH://root@h/system?mode=direct')).toBe('qemu:///system?mode=direct');
  });

  it('a plain ssh:// URL, or a libvirt URI over another transport, names none', () => {
    expect(on('ssh://root@10.0.0.11')).toBeUndefined();
    expect(on('qemu+tcp://10.0.0.11/system')).toBeUndefined();
    expect(on('qemu:///system')).toBeUndefined();
  });
});
