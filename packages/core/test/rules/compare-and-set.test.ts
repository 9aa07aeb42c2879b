import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulatorDriver } from '@stratus/driver-simulator';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type Cloud, createCloud } from '../../src/cloud.js';
import { ConcurrentModificationError, NoTransitionError } from '../../src/errors.js';
import type { HostResourceState } from '../../src/model/state-machines/index.js';
import { hostResourceStateMachine } from '../../src/model/state-machines/index.js';
import { casTransition } from '../../src/store/cas.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import { zoneWithHost } from './rule-fixtures.js';
import { snapshot } from './store-snapshot.js';

/** Two control planes over one SQLite file, each with its own connection. */
async function twoClouds(): Promise<[Cloud, Cloud]> {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-cas-'));
  const file = join(dir, 'cloud.db');
  const a = await createCloud({ store: sqliteStore({ file }), hypervisors: [simulatorDriver()] });
  const b = await createCloud({ store: sqliteStore({ file }), hypervisors: [simulatorDriver()] });
  onTestFinished(async () => {
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });
  return [a, b];
}

type Outcome = { ok: true; version: number } | { ok: false; error: unknown };

/** One writer's attempt: the transition it decided on from what it read, inside one transaction. */
async function attempt(
  cloud: Cloud,
  hostId: number,
  event: 'Disable' | 'Enable',
  read: { state: HostResourceState; version: number },
): Promise<Outcome> {
  try {
    const result = await cloud.store.transaction((tx) =>
      casTransition(tx, {
        table: 'hosts',
        id: hostId,
        machine: hostResourceStateMachine,
        event,
        column: 'resourceState',
        expect: read,
      }),
    );
    return { ok: true, version: result.version };
  } catch (error) {
    return { ok: false, error };
  }
}

/** spec/resource-model.md §1, §15 pitfall 10 — state changes are compare-and-set on (state, updatedCount). */
describe('compare-and-set', () => {
  it('two control planes that read the same host and make the same transition: exactly one wins', async () => {
    const [a, b] = await twoClouds();
    const { host } = await zoneWithHost(a);
    let expectedState: HostResourceState = 'Enabled';
    for (let round = 0; round < 10; round++) {
      // Both read the row through their own connection and decide on the same move.
      const [seenByA, seenByB] = [await a.hosts.get(host.id), await b.hosts.get(host.id)];
      expect(seenByA.resourceState).toBe(expectedState);
      expect(seenByB.updatedCount).toBe(seenByA.updatedCount);
      const read = { state: seenByA.resourceState, version: seenByA.updatedCount };
      const event = expectedState === 'Enabled' ? 'Disable' : 'Enable';
      // Alternate who commits first.
      const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
      const winner = await attempt(first, host.id, event, read);
      const afterWinner = await snapshot(a.store);
      const loser = await attempt(second, host.id, event, read);

      expect(winner).toEqual({ ok: true, version: read.version + 1 });
      expect(loser.ok).toBe(false);
      const error = (loser as { error: unknown }).error;
      expect(error).toBeInstanceOf(ConcurrentModificationError);
      expect(error).toMatchObject({
        code: 'CONCURRENT_MODIFICATION',
        httpCode: 530,
        details: { entity: 'HostResourceState', id: host.id, state: read.state, version: read.version },
      });
      // The loser wrote nothing; both planes see the winner's row.
      expect(await snapshot(b.store)).toEqual(afterWinner);
      expectedState = expectedState === 'Enabled' ? 'Disabled' : 'Enabled';
      for (const cloud of [a, b]) {
        const now = await cloud.hosts.get(host.id);
        expect({ state: now.resourceState, version: now.updatedCount }).toEqual({
          state: expectedState,
          version: read.version + 1,
        });
      }
    }
  });

  it('a stale expectation is refused even when the transition would be legal from the current state', async () => {
    const [a, b] = await twoClouds();
    const { host } = await zoneWithHost(a);
    const read = { state: host.resourceState, version: host.updatedCount };
    // A moves the host on twice (Enabled → Disabled → Enabled): same state as B read, newer version.
    expect((await attempt(a, host.id, 'Disable', read)).ok).toBe(true);
    expect((await attempt(a, host.id, 'Enable', { state: 'Disabled', version: read.version + 1 })).ok).toBe(true);
    const before = await snapshot(b.store);
    const stale = await attempt(b, host.id, 'Disable', read);
    expect(stale.ok).toBe(false);
    expect((stale as { error: unknown }).error).toBeInstanceOf(ConcurrentModificationError);
    expect(await snapshot(b.store)).toEqual(before);
  });

  it('an illegal transition is refused before any write', async () => {
    const [a] = await twoClouds();
    const { host } = await zoneWithHost(a);
    const before = await snapshot(a.store);
    const outcome = await attempt(a, host.id, 'Enable', { state: 'Maintenance', version: host.updatedCount });
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(NoTransitionError);
    expect(await snapshot(a.store)).toEqual(before);
  });
});
