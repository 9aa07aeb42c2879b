/**
 * fake-junos's Junos rules, driven over NETCONF: a private candidate vanishes with its session, a delete of a
 * missing statement is a warning, a merge of an existing statement changes nothing, a commit checks references,
 * the shared candidate blocks a private commit while someone else holds it, and a statement Junos does not know is
 * a syntax error at load.
 */
import { NetconfSession } from '@stratus/driver-srx';
import { at, type FakeJunos, startFakeJunos, textOf } from '@stratus/testkit/fake-junos';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

let fake: FakeJunos;
const open = () =>
  NetconfSession.open({
    host: fake.host,
    port: fake.port,
    username: fake.username,
    password: fake.password,
    hostVerifier: () => true,
    connectTimeoutMs: 5_000,
  });
const load = (config: string) =>
  `<load-configuration action="merge" format="xml"><configuration>${config}</configuration></load-configuration>`;
const app = (name: string, port: number) =>
  `<applications><application><name>${name}</name><protocol>tcp</protocol><destination-port>${port}</destination-port></application></applications>`;

describe('fake-junos semantics', () => {
  beforeEach(async () => {
    await fake?.close();
    fake = await startFakeJunos();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('an uncommitted private candidate vanishes with its session', async () => {
    const a = await open();
    await a.rpc('<open-configuration><private/></open-configuration>', 5_000);
    expect((await a.rpc(load(app('web', 80)), 5_000)).errors).toEqual([]);
    fake.dropAllSessions();
    await expect(a.rpc('<commit-configuration/>', 5_000)).rejects.toThrow(/lost/);
    const b = await open();
    await b.rpc('<open-configuration><private/></open-configuration>', 5_000);
    const commit = await b.rpc('<commit-configuration/>', 5_000);
    // nothing to commit: an empty commit-results
    expect(commit.root.elements.map((x) => x.name)).toEqual(['commit-results']);
    expect(commit.root.elements[0]?.elements).toEqual([]);
    expect(at(fake.runningConfig(), 'applications')).toBeUndefined();
    await b.close();
  });

  it('merge is idempotent, deleting a missing statement is a warning, deleting a present one removes it', async () => {
    const s = await open();
    await s.rpc('<open-configuration><private/></open-configuration>', 5_000);
    await s.rpc(load(app('web', 80)), 5_000);
    await s.rpc(load(app('web', 80)), 5_000);
    await s.rpc('<commit-configuration/>', 5_000);
    expect(fake.dump().running).toBe(
      '<configuration><applications><application><name>web</name><protocol>tcp</protocol><destination-port>80</destination-port></application></applications></configuration>',
    );
    const missing = await s.rpc(
      load('<applications><application delete="delete"><name>nope</name></application></applications>'),
      5_000,
    );
    expect(missing.errors).toEqual([]);
    expect(missing.warnings).toEqual([
      expect.objectContaining({ severity: 'warning', message: 'statement not found', badElement: 'application nope' }),
    ]);
    await s.rpc(
      load('<applications><application delete="delete"><name>web</name></application></applications>'),
      5_000,
    );
    await s.rpc('<commit-configuration/>', 5_000);
    expect(textOf(at(fake.runningConfig(), 'applications', 'application'), 'name')).toBe('');
    await s.close();
  });

  it('refuses unknown statements at load and a missing NAT pool at commit; a rollback discards the candidate', async () => {
    const s = await open();
    await s.rpc('<open-configuration><private/></open-configuration>', 5_000);
    const unknown = await s.rpc(load('<no-such-hierarchy/>'), 5_000);
    expect(unknown.errors).toEqual([
      expect.objectContaining({ message: 'syntax error', badElement: 'no-such-hierarchy' }),
    ]);
    const oldPort = await s.rpc(
      load(
        '<security><nat><destination><rule-set><name>r</name><rule><name>x</name><dest-nat-rule-match><destination-port><low>80</low></destination-port></dest-nat-rule-match></rule></rule-set></destination></nat></security>',
      ),
      5_000,
    );
    expect(oldPort.errors).toEqual([expect.objectContaining({ message: 'syntax error', badElement: 'low' })]);
    await s.rpc(
      load(
        '<security><nat><source><rule-set><name>r</name><rule><name>x</name><then><source-nat><pool><pool-name>missing</pool-name></pool></source-nat></then></rule></rule-set></source></nat></security>',
      ),
      5_000,
    );
    const commit = await s.rpc('<commit-configuration/>', 5_000);
    expect(commit.errors.map((x) => x.message)).toEqual([
      "source NAT pool 'missing' is not defined",
      'configuration check-out failed',
    ]);
    await s.rpc('<load-configuration rollback="0"/>', 5_000);
    const again = await s.rpc('<commit-configuration/>', 5_000);
    expect(again.errors).toEqual([]);
    expect(fake.dump().commits).toBe(0);
    await s.close();
  });

  it('a locked, modified shared candidate keeps others out of private mode', async () => {
    const a = await open();
    await a.rpc('<lock-configuration/>', 5_000);
    await a.rpc(load(app('ssh', 22)), 5_000);
    const b = await open();
    const denied = await b.rpc('<open-configuration><private/></open-configuration>', 5_000);
    expect(denied.errors).toEqual([expect.objectContaining({ message: 'shared configuration database modified' })]);
    await a.rpc('<commit-configuration/>', 5_000);
    await a.rpc('<unlock-configuration/>', 5_000);
    expect((await b.rpc('<open-configuration><private/></open-configuration>', 5_000)).errors).toEqual([]);
    await a.close();
    await b.close();
  });
});
