import { InvalidParameterError } from '@stratus/core';

/** Where a CloudStack VMware cluster (or one host of it) is: `vmware://vcenter/datacenter/cluster[/host]`. */
export interface VsphereTarget {
  /** `https://vcenter[:port]` (`vmware://` means https; `http://` only when written so). */
  origin: string;
  datacenter: string;
  cluster: string;
  /** One host of the cluster by its inventory name; all hosts when absent. */
  host?: string;
}

/**
 * Parses a cluster URL as CloudStack's `addCluster` takes it for VMware (`vmware://vc/dc/cluster`, also
 * `https://vc[:port]/dc/cluster`), optionally naming one host (`…/cluster/host`). Bad URLs are `InvalidParameterError`
 * naming the `url` field.
 */
export function parseVsphereUrl(url: string): VsphereTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidParameterError('url', url, 'not a URL; expected vmware://vcenter/datacenter/cluster');
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!['vmware', 'https', 'http'].includes(scheme))
    throw new InvalidParameterError('url', url, 'expected a vmware://, https:// or http:// URL');
  if (u.hostname === '') throw new InvalidParameterError('url', url, 'the URL names no vCenter');
  const parts = u.pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  if (parts.length < 2 || parts.length > 3)
    throw new InvalidParameterError('url', url, 'expected /<datacenter>/<cluster>[/<host>] after the vCenter');
  const origin = `${scheme === 'http' ? 'http' : 'https'}://${u.host}`;
  return { origin, datacenter: parts[0]!, cluster: parts[1]!, ...(parts[2] !== undefined ? { host: parts[2] } : {}) };
}
