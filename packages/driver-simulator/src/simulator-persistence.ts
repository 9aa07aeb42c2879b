import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimState } from './simulator-state.js';
import type { SimulatorWorld } from './simulator-world.js';

/** The persisted form: the state with Maps and Sets tagged, plus the host counter. */
interface PersistedWorld {
  version: 1;
  hostCount: number;
  state: unknown;
}

const replacer = (_key: string, value: unknown): unknown => {
  if (value instanceof Map) return { $map: [...value.entries()] };
  if (value instanceof Set) return { $set: [...value.values()] };
  return value;
};

const reviver = (_key: string, value: unknown): unknown => {
  if (value !== null && typeof value === 'object') {
    const tagged = value as { $map?: Array<[unknown, unknown]>; $set?: unknown[] };
    if (Array.isArray(tagged.$map)) return new Map(tagged.$map);
    if (Array.isArray(tagged.$set)) return new Set(tagged.$set);
  }
  return value;
};

/** The world's private host counter (it numbers default host IPs), read and restored with the state. */
const counter = (world: SimulatorWorld) => world as unknown as { hostCount: number };

/**
 * Writes the simulated world to `file`: a temporary file renamed over the previous one, so a process
 * killed at any instant leaves either the old or the new world on disk, never a torn one.
 */
export function saveWorld(world: SimulatorWorld, file: string): void {
  const persisted: PersistedWorld = { version: 1, hostCount: counter(world).hostCount, state: world.state };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(persisted, replacer));
  renameSync(tmp, file);
}

/** Loads the world saved in `file` (if it exists) into `world`, replacing its contents. Returns whether it did. */
export function loadWorld(world: SimulatorWorld, file: string): boolean {
  if (!existsSync(file)) return false;
  const persisted = JSON.parse(readFileSync(file, 'utf8'), reviver) as PersistedWorld;
  if (persisted.version !== 1) throw new Error(`simulator state file ${file}: unknown version ${persisted.version}`);
  const saved = persisted.state as SimState;
  const state = world.state;
  for (const key of Object.keys(state) as Array<keyof SimState>) {
    const target = state[key] as Map<string, unknown>;
    target.clear();
    for (const [k, v] of (saved[key] as Map<string, unknown> | undefined) ?? new Map()) target.set(k, v);
  }
  counter(world).hostCount = persisted.hostCount;
  return true;
}

/** How long a call waits for another process's lock on a shared world before it gives up. */
const SHARED_LOCK_TIMEOUT_MS = 30_000;

/**
 * Runs `fn` on the world shared through `file` (the `sharedState` option): under an exclusive lock
 * file (`<file>.lock`, created with O_EXCL), with the world reloaded first and saved after, whether
 * `fn` succeeds or fails.
 */
export async function withSharedWorld<T>(world: SimulatorWorld, file: string, fn: () => Promise<T> | T): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + SHARED_LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline) throw new Error(`simulator state file ${file}: lock ${lock} held for over 30 s`);
      await sleep(1);
    }
  }
  try {
    loadWorld(world, file);
    try {
      return await fn();
    } finally {
      saveWorld(world, file);
    }
  } finally {
    unlinkSync(lock);
  }
}
