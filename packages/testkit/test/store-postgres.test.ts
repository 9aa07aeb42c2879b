import { postgresStore } from '@stratus/core';
import { describe, it } from 'vitest';
import { createTestDatabase, pgAvailable, pgSkipSuffix, type TestDatabase } from '../src/harness/postgres.js';
import { storeConformanceSuite } from '../src/store-conformance.js';

let db: TestDatabase | undefined;

if (pgAvailable()) {
  storeConformanceSuite('postgres', {
    async open() {
      db = await createTestDatabase('conformance');
      return postgresStore({ connectionString: db.url });
    },
    async connectAgain() {
      return postgresStore({ connectionString: db!.url });
    },
    async cleanup() {
      await db?.drop();
    },
  });
} else {
  describe.skip(`store conformance: postgres${pgSkipSuffix()}`, () => {
    it('needs PostgreSQL', () => {});
  });
}
