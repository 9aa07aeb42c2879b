/**
 * An independent client holds fake-junos honest: Debian's python3-ncclient (Junos device handler) opens a session,
 * uses a private candidate without a lock, loads, commits, reads the configuration back and gets an rpc-error
 * from a commit Junos would refuse. Skipped only outside CI when python3-ncclient is not installed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { at, type FakeJunos, startFakeJunos, textOf } from '@stratus/testkit/fake-junos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./ncclient-check.py', import.meta.url));
const haveNcclient = existsSync('/usr/lib/python3/dist-packages/ncclient');
if (!haveNcclient && process.env.CI === 'true')
  throw new Error('python3-ncclient is not installed (.ci/run installs it)');

function runCheck(port: number, user: string, password: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, String(port), user, password], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>);
    });
  });
}

describe.skipIf(!haveNcclient)('fake-junos against python3-ncclient', () => {
  let fake: FakeJunos;
  beforeAll(async () => {
    fake = await startFakeJunos();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('speaks NETCONF as ncclient expects, with Junos semantics', async () => {
    const out = await runCheck(fake.port, fake.username, fake.password);
    expect(out.base11).toBe(true);
    expect(out.junos_cap).toBe(true);
    expect(out.load_ok).toBe(true);
    expect(out.commit_success).toBe(true);
    expect(out.committed_app_port).toBe('8080');
    expect(out.commit_error).toEqual([
      { severity: 'error', tag: 'operation-failed', message: "application 'no-such-app' is not defined" },
      { severity: 'error', tag: 'operation-failed', message: 'configuration check-out failed' },
    ]);
    expect(out.delete_missing).toMatchObject({ ok: true, warnings: ['statement not found'] });
    expect(out.get_config_has_app).toBe(true);
    // the refused commit changed nothing; the application is committed
    const running = fake.runningConfig();
    expect(textOf(at(running, 'applications', 'application'), 'name')).toBe('tcp-8080');
    expect(at(running, 'security')).toBeUndefined();
    expect(fake.dump().commits).toBe(1);
  });
});
