import { createHash, generateKeyPairSync } from 'node:crypto';
import type { CloudContext } from '../context.js';
import { InvalidParameterError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { EntityBase } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { requireString } from '../model/validate.js';
import { listPaging } from '../resources/list-paging.js';
import { requireAccess } from '../resources/permissions.js';
import { Repo } from '../resources/repo.js';
import { accountRepo } from '../resources/tenancy.js';
import { decoder } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';

/** A registered SSH key pair of an account: its name, public key and fingerprint. */
export interface SshKeyPair extends EntityBase {
  name: string;
  accountId: number;
  domainId: number;
  /** OpenSSH format, e.g. `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
  /** MD5 fingerprint as CloudStack shows it, `aa:bb:…`. */
  fingerprint: string;
}

export const sshKeyPairRepo = new Repo<SshKeyPair>('sshKeypairs', 'SshKeyPair', decoder<SshKeyPair>({}));

const KEY_TYPES = ['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];

/** Validates an OpenSSH public key line and returns it normalised with its MD5 fingerprint. */
export function parseOpenSshPublicKey(field: string, value: unknown): { publicKey: string; fingerprint: string } {
  const text = requireString(field, value).trim();
  const [type, body, ...comment] = text.split(/\s+/);
  if (!type || !KEY_TYPES.includes(type) || !body)
    throw new InvalidParameterError(field, value, `expected an OpenSSH public key (${KEY_TYPES.join(', ')})`);
  const blob = Buffer.from(body, 'base64');
  const declared = blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1') : '';
  if (blob.toString('base64') !== body || declared !== type) {
    throw new InvalidParameterError(field, value, 'the key body is not valid base64 for its declared type');
  }
  const fingerprint = createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
  return { publicKey: [type, body, ...comment].join(' '), fingerprint };
}

/** OpenSSH public key line of a node:crypto public key (ed25519). */
function ed25519OpenSsh(publicKeyDer: Buffer, comment: string): string {
  const raw = publicKeyDer.subarray(publicKeyDer.length - 32);
  const part = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  return `ssh-ed25519 ${Buffer.concat([part(Buffer.from('ssh-ed25519')), part(raw)]).toString('base64')} ${comment}`;
}

/**
 * SSH key pairs (spec/operations.md §2.13): names unique per account; created by the server (the
 * private key is returned once and never stored) or registered from a public key.
 */
export class SshKeyPairService {
  constructor(private readonly ctx: CloudContext) {}

  /** An account's key pairs by id (default the caller's); a page of them with `page`/`pageSize`, matching `keyword` by name. */
  async list(accountId: Ref = this.ctx.caller.accountId, options: ListOptions = {}): Promise<SshKeyPair[]> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    return sshKeyPairRepo.list(this.ctx.db, { accountId }, await listPaging(this.ctx, options));
  }

  async get(accountId: Ref, name: string): Promise<SshKeyPair> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    const [pair] = await sshKeyPairRepo.list(this.ctx.db, { accountId, name });
    if (!pair)
      throw new InvalidParameterError('keypair', name, `no SSH key pair of that name for account ${accountId}`);
    return pair;
  }

  /** Generates an ed25519 key pair; the private key (PKCS#8 PEM) is in the answer only. */
  async create(name: string, accountId: Ref = this.ctx.caller.accountId): Promise<SshKeyPair & { privateKey: string }> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const line = ed25519OpenSsh(publicKey.export({ type: 'spki', format: 'der' }), name);
    const pair = await this.register(name, line, accountId);
    return { ...pair, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  async register(name: string, publicKey: string, accountId: Ref = this.ctx.caller.accountId): Promise<SshKeyPair> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    return this.ctx.write(async (w) => {
      const keyName = requireString('name', name, { max: 255 });
      const parsed = parseOpenSshPublicKey('publicKey', publicKey);
      const account = await accountRepo.get(w.db, accountId, 'accountId');
      await requireAccess(
        w.db,
        w.caller,
        { accountId: account.id, domainId: account.domainId },
        'register an SSH key pair',
      );
      if ((await sshKeyPairRepo.count(w.db, { accountId, name: keyName })) > 0) {
        throw new InvalidParameterError(
          'name',
          keyName,
          `account ${account.accountName} already has an SSH key pair of that name`,
        );
      }
      const row = await w.db
        .insertInto('sshKeypairs')
        .values({
          uuid: newUuid(),
          name: keyName,
          accountId,
          domainId: account.domainId,
          ...parsed,
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return sshKeyPairRepo.decode(row);
    });
  }

  async delete(name: string, accountId: Ref = this.ctx.caller.accountId): Promise<void> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    return this.ctx.write(async (w) => {
      const [pair] = await sshKeyPairRepo.list(w.db, { accountId, name });
      if (!pair) throw new InvalidParameterError('name', name, `no SSH key pair of that name for account ${accountId}`);
      await requireAccess(w.db, w.caller, pair, 'delete an SSH key pair');
      await sshKeyPairRepo.markRemoved(w.db, pair.id, w.now);
    });
  }
}
