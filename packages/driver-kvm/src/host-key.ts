import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * How the driver checks the SSH host key. Verification is on by default (`known_hosts` in the user's
 * `~/.ssh`); `{ insecureSkipVerify: true }` turns it off and must be asked for explicitly.
 */
export type HostKeyPolicy = { knownHostsFile: string } | { fingerprint: string } | { insecureSkipVerify: true };

/** The default policy: `~/.ssh/known_hosts` of the user running the control plane. */
export function defaultHostKeyPolicy(): HostKeyPolicy {
  return { knownHostsFile: path.join(os.homedir(), '.ssh', 'known_hosts') };
}

/** OpenSSH's fingerprint of a raw host key blob: `SHA256:<base64 without padding>`. */
export function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The host patterns a known_hosts line may use for `host:port` (`host` for port 22, `[host]:port` otherwise). */
function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesHost(field: string, wanted: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(wanted).digest('base64');
    return digest === hash;
  }
  return field.split(',').some((h) => h === wanted);
}

/** The base64 key blobs `known_hosts` content lists for `host:port` (revoked and CA lines are ignored). */
export function knownHostKeys(content: string, host: string, port: number): string[] {
  const wanted = hostPattern(host, port);
  const keys: string[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, , blob] = line.split(/\s+/);
    if (hosts === undefined || blob === undefined) continue;
    if (matchesHost(hosts, wanted)) keys.push(blob);
  }
  return keys;
}

/**
 * A `hostVerifier` for ssh2 (raw key blob in, accept/refuse out) implementing the policy. Records why a key was
 * refused in `rejection.reason` so the connection error can say so.
 */
export function hostVerifier(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  rejection: { reason?: string },
): ((key: Buffer) => boolean) | undefined {
  if ('insecureSkipVerify' in policy) return undefined;
  if ('fingerprint' in policy) {
    const pinned = policy.fingerprint.trim().replace(/=+$/, '');
    return (key) => {
      const actual = sha256Fingerprint(key);
      if (actual === pinned) return true;
      rejection.reason = `host key ${actual} does not match the pinned fingerprint ${pinned}`;
      return false;
    };
  }
  return (key) => {
    let content: string;
    try {
      content = readFileSync(policy.knownHostsFile, 'utf8');
    } catch (err) {
      rejection.reason = `cannot read known-hosts file ${policy.knownHostsFile}: ${(err as Error).message}`;
      return false;
    }
    const keys = knownHostKeys(content, host, port);
    if (keys.length === 0) {
      rejection.reason = `${hostPattern(host, port)} is not in ${policy.knownHostsFile}`;
      return false;
    }
    if (keys.includes(key.toString('base64'))) return true;
    rejection.reason = `host key ${sha256Fingerprint(key)} of ${hostPattern(host, port)} does not match ${policy.knownHostsFile}`;
    return false;
  };
}
