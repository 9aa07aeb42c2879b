import { describe, expect, it } from 'vitest';
import { redactCredentials } from '../../src/model/redact.js';
import { vmWorld } from '../orchestration/vm-world.js';

const SECRET = 's3cr3t-Pw';

/** Every string of every row of every table, for a scan. */
async function allStoredText(world: Awaited<ReturnType<typeof vmWorld>>, tables: string[]): Promise<string> {
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await world.cloud.store.db
      .selectFrom(table as never)
      .selectAll()
      .execute();
    parts.push(JSON.stringify(rows));
  }
  return parts.join('\n');
}

describe('credentials in URLs are masked wherever Stratus writes for people to read', () => {
  it('masks URL passwords and secret query parameters, and leaves everything else alone', () => {
    expect(redactCredentials(`https://bob:${SECRET}@images.example/t.qcow2`)).toBe(
      'https://bob:******@images.example/t.qcow2',
    );
    expect(redactCredentials(`rbd://admin:${SECRET}@10.0.0.9/rbd`)).toBe('rbd://admin:******@10.0.0.9/rbd');
    expect(redactCredentials(`see http://h/x?user=a&password=${SECRET}&y=1`)).toBe(
      'see http://h/x?user=a&password=******&y=1',
    );
    for (const plain of ['nfs://10.0.0.5/export', 'http://bob@h/t.qcow2', 'VM i-2-3 --Start--> Running', 'a=b']) {
      expect(redactCredentials(plain)).toBe(plain);
    }
  });

  it('a template registered and downloaded from a URL with credentials: no event, bus event, job row or error shows them', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const seen: string[] = [];
    world.cloud.context.bus.on('*', (event) => seen.push(JSON.stringify(event)));
    const url = `https://bob:${SECRET}@images.example/private.qcow2`;
    const template = await world.user.templates.register({
      name: 'private',
      url,
      format: 'QCOW2',
      hypervisorType: 'Simulator',
      zoneId: world.zone.id,
    });
    await (await world.cloud.templateStorage.download(template.id)).result;
    const refused: Error & { value?: unknown } = await world.user.templates
      .register({ name: 'bad', url: `ftp://bob:${SECRET}@x/t.qcow2`, format: 'QCOW2', zoneId: world.zone.id })
      .then(
        () => new Error('registered'),
        (e: unknown) => e as Error & { value?: unknown },
      );
    expect(refused).toBeInstanceOf(Error);
    expect(`${refused.message} ${JSON.stringify(refused.value)}`).not.toContain(SECRET);
    expect(refused.message).toContain('bob:******@x');

    const stored = await allStoredText(world, ['events', 'asyncJobs']);
    expect(stored).toContain('private');
    expect(stored).not.toContain(SECRET);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.join('\n')).not.toContain(SECRET);
  });
});
