import { describe, expect, it } from 'vitest';
import { newUuid } from '../src/store/uuid.js';

describe('row uuids', () => {
  it('are RFC 9562 version 7: the creation millisecond first, then random bits', () => {
    const before = Date.now();
    const uuid = newUuid();
    const after = Date.now();
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = Number.parseInt(uuid.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('sort by creation time across milliseconds and never repeat', async () => {
    const first = Array.from({ length: 1000 }, newUuid);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = Array.from({ length: 1000 }, newUuid);
    expect(new Set([...first, ...second]).size).toBe(2000);
    const lastOfFirst = [...first].sort().at(-1)!;
    expect(second.every((uuid) => uuid > lastOfFirst)).toBe(true);
  });
});
