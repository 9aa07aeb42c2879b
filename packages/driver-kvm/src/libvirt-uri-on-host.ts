/** Query parameters of a libvirt remote URI that configure the SSH hop itself, not the connection on the host. */
const SSH_HOP_PARAMS = new Set(['keyfile', 'no_verify', 'no_tty', 'netcat', 'command', 'sshauth', 'known_hosts']);

/**
 * The libvirt URI virsh opens on a host reached through a libvirt remote URI over SSH (`<driver>+ssh://user@host
 * [:port]/<path>[?socket=…]`), as libvirt's own remote driver reads it: the part after the SSH hop is
 * `<driver>:///<path>`, or `<driver>+unix:///<path>?socket=…` when the URI names the daemon's socket. So
 * `qemu+ssh://root@10.0.0.11/system` is `qemu:///system` on 10.0.0.11, and
 * `test+ssh://u@h/default?socket=/run/lvd/sock` is `test+unix:///default?socket=/run/lvd/sock` on h. A plain
 * `ssh://` URL names no libvirt URI (`undefined`).
 */
export function libvirtUriOnHost(url: URL): string | undefined {
  const m = /^([a-z][a-z0-9-]*)\+ssh:$/i.exec(url.protocol);
  if (m === null) return undefined;
  const driver = m[1]!.toLowerCase();
  const params = [...url.searchParams].filter(([k]) => !SSH_HOP_PARAMS.has(k));
  const socket = params.some(([k]) => k === 'socket');
  const query = params.length === 0 ? '' : `?${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
  return `${driver}${socket ? '+unix' : ''}://${url.pathname === '' ? '/' : url.pathname}${query}`;
}
