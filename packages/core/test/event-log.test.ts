import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../testkit/src/harness/postgres.js';
import { type Cloud, createCloud } from '../src/cloud.js';
import type { StratusEvent } from '../src/events/event-types.js';
import { postgresStore } from '../src/store/postgres-store.js';
import { sqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

const stores: Array<[string, () => Promise<Store>, boolean]> = [
  ['SQLite', async () => sqliteStore(), true],
  [
    `PostgreSQL${pgSkipSuffix()}`,
    async () => {
      const db = await createTestDatabase('eventlog');
      databases.push(db);
      return postgresStore({ connectionString: db.url });
    },
    pgAvailable(),
  ],
];

/** A transaction's events: written in one INSERT before commit, delivered in order after it. */
describe.each(stores)('the event log on %s', (_name, open, available) => {
  it.runIf(available)('delivers what it stored, with the stored ids, in the order recorded', async () => {
    const cloud: Cloud = await createCloud({ store: await open() });
    try {
      const delivered: StratusEvent[] = [];
      cloud.context.bus.on('*', (e) => delivered.push(e));
      const before = (await cloud.events.list()).length;
      await cloud.context.write(async (w) => {
        for (let i = 0; i < 40; i++) await w.event({ type: 'PROBE.RUN', description: `event ${i}` });
        w.publish({ type: 'PROBE.STATE.CHANGE', description: 'published only' });
        await w.event({ type: 'PROBE.RUN', description: 'last' });
        // Nothing is delivered before commit.
        expect(delivered).toEqual([]);
      });
      expect(delivered.map((e) => e.description)).toEqual([
        ...Array.from({ length: 40 }, (_, i) => `event ${i}`),
        'published only',
        'last',
      ]);
      const stored = await cloud.events.list({ type: 'PROBE.RUN' });
      expect(stored).toHaveLength(41);
      expect((await cloud.events.list()).length).toBe(before + 41);
      const byId = new Map(stored.map((e) => [e.id, e]));
      for (const event of delivered.filter((e) => e.type === 'PROBE.RUN')) {
        expect(byId.get(event.id)).toMatchObject({ uuid: event.uuid, description: event.description });
      }
      expect(delivered.find((e) => e.type === 'PROBE.STATE.CHANGE')?.id).toBeNull();
    } finally {
      await cloud.close();
    }
  });
});
