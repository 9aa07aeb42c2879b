import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '@stratus/core';
import { storeConformanceSuite } from '../src/store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-sqlite-'));
let n = 0;
let file = '';

storeConformanceSuite(
  'sqlite',
  {
    async open() {
      file = join(dir, `conformance-${n++}.db`);
      return sqliteStore({ file });
    },
    async connectAgain() {
      return sqliteStore({ file });
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  },
  { races: 0 },
);
