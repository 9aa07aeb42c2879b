/**
 * TLS to a pool: verified by default (a self-signed certificate is refused), a pinned SHA-256 fingerprint trusts
 * exactly that certificate, and turning verification off is explicit (`allowUnauthorized`).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FakeXapi, startFakeXapi } from '@stratus/testkit/fake-xapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDriverError, XapiPoolSession } from '../src/index.js';

let fake: FakeXapi;
let dir: string;
let fingerprint: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stratus-xen-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,IP:127.0.0.2',
      '-keyout',
      `${dir}/key.pem`,
      '-out',
      `${dir}/cert.pem`,
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(`${dir}/cert.pem`, 'utf8');
  fingerprint = new X509Certificate(cert).fingerprint256;
  fake = await startFakeXapi({ hosts: 1, tls: { key: readFileSync(`${dir}/key.pem`, 'utf8'), cert } });
});
afterAll(async () => {
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const open = (tls?: ConstructorParameters<typeof XapiPoolSession>[0]['tls']) =>
  new XapiPoolSession({
    url: fake.url,
    username: 'root',
    password: 'xenroot',
    callTimeoutMs: 5000,
    ...(tls ? { tls } : {}),
  });

describe('XAPI over TLS', () => {
  it('refuses a self-signed certificate by default, before logging in', async () => {
    const x = open();
    const error = await x.call('VM.get_all').catch((e: unknown) => e);
    expect(toDriverError(error).driverCode).toBe('AuthFailed');
    expect(fake.log).toHaveLength(0);
    await x.close();
  });

  it('trusts the pinned fingerprint, and only it', async () => {
    const pinned = open({ fingerprint256: fingerprint });
    expect(((await pinned.call('VM.get_all')) as string[]).length).toBeGreaterThan(0);
    await pinned.close();
    const before = fake.log.length;
    const wrong = open({ fingerprint256: fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00') });
    const error = await wrong.call('VM.get_all').catch((e: unknown) => e);
    expect(toDriverError(error).driverCode).toBe('AuthFailed');
    expect(fake.log.length).toBe(before); // nothing reached the pool
    await wrong.close();
  });

  it('accepts any certificate only when told to', async () => {
    const x = open({ allowUnauthorized: true });
    expect(((await x.call('VM.get_all')) as string[]).length).toBeGreaterThan(0);
    await x.close();
  });
});
