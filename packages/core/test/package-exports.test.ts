import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.cjs', import.meta.url)));

/** The published package, as a user's program loads it: through node_modules and the exports map. */
describe.skipIf(!built)(`built @stratus/core${built ? '' : ' (skipped: run npm run build first)'}`, () => {
  const probe = `sqliteStore, createCloud, vmStateMachine, InvalidParameterError`;

  it('loads with require (CJS)', () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const { ${probe} } = require('@stratus/core'); console.log([${probe}].map((x) => typeof x).join(','), require.resolve('@stratus/core'))`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(out).toMatch(/^function,function,object,function .*packages\/core\/dist\/index\.cjs/);
  });

  it('loads with import (ESM) and runs against SQLite', () => {
    const script = `
      import { ${probe} } from '@stratus/core';
      const cloud = await createCloud({ store: sqliteStore() });
      const zone = await cloud.zones.create({ name: 'esm', networkType: 'Basic', dns1: '8.8.8.8', internalDns1: '10.0.0.2' });
      let code = '';
      try { await cloud.zones.create({ name: 'esm', networkType: 'Basic', dns1: '8.8.8.8', internalDns1: '10.0.0.2' }); } catch (e) { code = e instanceof InvalidParameterError ? e.code : 'wrong'; }
      console.log(zone.name, code, import.meta.resolve('@stratus/core'));
      await cloud.close();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/^esm INVALID_PARAMETER .*packages\/core\/dist\/index\.js/);
  });
});
