/**
 * The Stratus demo: an advanced zone on the embedded defaults (SQLite and the simulator driver),
 * built with values from CloudStack's installation guides, then printed as an inventory.
 *
 *   npm run demo                  # in-memory database
 *   npm run demo -- --db cloud.db # a SQLite file you can reopen
 */
import { parseArgs } from 'node:util';
import { createCloud, sqliteStore } from '@stratus/core';
import { simulatorDriver } from '@stratus/driver-simulator';
import { buildCloud } from './build-cloud.js';
import { printInventory } from './inventory.js';

const { values } = parseArgs({ options: { db: { type: 'string', default: ':memory:' } } });

const started = performance.now();
const cloud = await createCloud({
  store: sqliteStore({ file: values.db }),
  hypervisors: [simulatorDriver({ type: 'KVM' })],
});
try {
  const built = await buildCloud(cloud);
  await printInventory(cloud, built.zone.id);
  console.log(`\nbuilt and printed in ${Math.round(performance.now() - started)} ms (store: ${values.db})`);
} finally {
  await cloud.close();
}
