import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type Cloud, createCloud } from '../src/cloud.js';
import { CONFIGURATION_CACHE_MS } from '../src/settings/configuration-cache.js';
import { sqliteStore } from '../src/store/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-settings-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Settings are read from a kept copy of the configuration table; what must stay true of reads. */
describe('the configuration cache', () => {
  const clouds: Cloud[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const cloud of clouds.splice(0)) await cloud.close();
  });

  it('shows a change made in this process at once, and inside its transaction before commit', async () => {
    const cloud = await createCloud({ store: sqliteStore() });
    clouds.push(cloud);
    expect(await cloud.settings.get('start.retry')).toBe(10);
    await cloud.settings.set('start.retry', 4);
    expect(await cloud.settings.get('start.retry')).toBe(4);

    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seenInside: number[] = [];
    const writing = cloud.context.write(async (w) => {
      await cloud.settings.setIn(w, 'start.retry', 6);
      seenInside.push(await cloud.settings.get('start.retry'));
      await gate;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(seenInside).toEqual([6]);
    release();
    await writing;
    expect(await cloud.settings.get('start.retry')).toBe(6);

    // A rolled-back change is never seen.
    await expect(
      cloud.context.write(async (w) => {
        await cloud.settings.setIn(w, 'start.retry', 9);
        throw new Error('abandoned');
      }),
    ).rejects.toThrow('abandoned');
    expect(await cloud.settings.get('start.retry')).toBe(6);
    await cloud.settings.reset('start.retry');
    expect(await cloud.settings.get('start.retry')).toBe(10);
  });

  it("shows another process's change within CONFIGURATION_CACHE_MS", async () => {
    const file = join(dir, 'shared.db');
    const here = await createCloud({ store: sqliteStore({ file }) });
    const there = await createCloud({ store: sqliteStore({ file }) });
    clouds.push(here, there);
    expect(await here.settings.get('start.retry')).toBe(10);
    await there.settings.set('start.retry', 3);
    // Within the cache's time the kept copy may still answer…
    expect(await here.settings.get('start.retry')).toBe(10);
    // …after it, the table is read again.
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now + CONFIGURATION_CACHE_MS + 1);
    expect(await here.settings.get('start.retry')).toBe(3);
  });
});
