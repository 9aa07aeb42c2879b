/**
 * The packages as npm users get them: `npm pack` core, allocator, driver-simulator and driver-kvm,
 * install the tarballs into a temporary project with the PostgreSQL client only (no better-sqlite3),
 * and run a small deployment on the simulator from ESM and from CommonJS. A second project asks
 * for another version of core than the drivers were built with and still gets one copy.
 *
 * Reads the packages' built `dist` (`npm test` builds first); fails, not skips, when it is missing
 * or older than the sources.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../packages/testkit/src/harness/postgres.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const PACKED = ['core', 'allocator', 'driver-simulator', 'driver-kvm'] as const;

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Throws unless every packed package has a `dist` built from its current sources. */
function assertBuilt(): void {
  for (const pkg of PACKED) {
    const dir = path.join(ROOT, 'packages', pkg);
    const built = path.join(dir, 'dist', 'index.js');
    if (!existsSync(built) || statSync(built).mtimeMs < newest(path.join(dir, 'src')))
      throw new Error(`packages/${pkg}/dist is missing or older than its src: run \`npm run build\` first`);
  }
}

/**
 * npm's environment without what `npm test` set for the workspace (its `npm_*` variables would
 * point the child npm at the repository); the native-addon and cache settings are kept.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_nodedir', 'npm_config_cache', 'npm_config_registry']);
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') || keep.has(key.toLowerCase())),
  );
}

async function npm(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Installs `dependencies` into a fresh project in `dir`, from the local cache where it can. */
async function installProject(dir: string, dependencies: Record<string, string>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: path.basename(dir), version: '1.0.0', private: true, dependencies }, null, 2),
  );
  // Optional dependencies (driver-kvm's native libvirt binding, ssh2's cpu-features) are native
  // addons this check does not need.
  await npm(dir, 'install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', '--loglevel=error');
}

/** Every installed copy of the package `name` under `nodeModules`, nested ones included. */
function copiesOf(nodeModules: string, name: string): string[] {
  const found: string[] = [];
  const visit = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const packages = entry.name.startsWith('@')
        ? readdirSync(path.join(dir, entry.name)).map((n) => [`${entry.name}/${n}`, path.join(dir, entry.name, n)])
        : [[entry.name, path.join(dir, entry.name)]];
      for (const [packageName, packageDir] of packages) {
        if (packageName === name && existsSync(path.join(packageDir!, 'package.json'))) found.push(packageDir!);
        visit(path.join(packageDir!, 'node_modules'));
      }
    }
  };
  visit(nodeModules);
  return found;
}

function versionOf(dir: string): string {
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

let work: string;
/** Tarball path by package directory name. */
const tarballs = new Map<string, string>();

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(path.join(os.tmpdir(), 'stratus-packaging-'));
  const out = path.join(work, 'tarballs');
  mkdirSync(out);
  const packed = JSON.parse(
    await npm(ROOT, 'pack', '--json', '--pack-destination', out, ...PACKED.flatMap((p) => ['-w', `packages/${p}`])),
  ) as Array<{ name: string; filename: string }>;
  for (const p of packed) tarballs.set(p.name.replace('@stratus/', ''), path.join(out, p.filename));
}, 120_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('packed tarballs', () => {
  it('hold the built ESM, CJS and type entries, the README and no sources or tests', async () => {
    for (const pkg of PACKED) {
      const listing = await run('tar', ['-tzf', tarballs.get(pkg)!]);
      const files = listing.stdout.split('\n').filter((f) => f !== '');
      expect(files).toEqual(
        expect.arrayContaining([
          'package/package.json',
          'package/README.md',
          'package/dist/index.js',
          'package/dist/index.cjs',
          'package/dist/index.d.ts',
          'package/dist/index.d.cts',
        ]),
      );
      expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
    }
  });
});

describe.skipIf(!pgAvailable())(`an npm project with the PostgreSQL client only${pgSkipSuffix()}`, () => {
  let project: string;
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    project = path.join(work, 'pg-only');
    const corePeers = (
      JSON.parse(readFileSync(path.join(ROOT, 'packages/core/package.json'), 'utf8')) as {
        peerDependencies: Record<string, string>;
      }
    ).peerDependencies;
    await installProject(project, {
      ...Object.fromEntries(PACKED.map((p) => [`@stratus/${p}`, `file:${tarballs.get(p)}`])),
      pg: corePeers.pg!,
    });
    for (const f of ['deploy.cjs', 'esm.mjs', 'cjs.cjs']) copyFileSync(path.join(FIXTURES, f), path.join(project, f));
  }, 150_000);

  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('has pg and one copy of core, and no better-sqlite3', () => {
    const nodeModules = path.join(project, 'node_modules');
    expect(existsSync(path.join(nodeModules, 'pg', 'package.json'))).toBe(true);
    expect(copiesOf(nodeModules, 'better-sqlite3')).toEqual([]);
    expect(copiesOf(nodeModules, '@stratus/core')).toEqual([path.join(nodeModules, '@stratus', 'core')]);
  });

  it.each([
    ['ESM', 'esm.mjs', 'dist/index.js'],
    ['CommonJS', 'cjs.cjs', 'dist/index.cjs'],
  ])(
    '%s: deploys on the simulator against PostgreSQL; sqliteStore() names better-sqlite3',
    async (_label, entry, coreFile) => {
      const db = await createTestDatabase('packaging');
      databases.push(db);
      const { stdout } = await run(process.execPath, [entry, db.url], { cwd: project, env: npmEnv() });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(String(result.coreEntry)).toContain(path.join('node_modules', '@stratus', 'core', coreFile));
      expect(result).toMatchObject({
        vmState: 'Running',
        // The simulator's DriverError on the first host was recognised by core: that host avoided.
        failedStarts: 1,
        kvmDriver: 'function',
        sqliteError: {
          name: 'MissingDependencyError',
          code: 'MISSING_DEPENDENCY',
          field: 'package',
          value: 'better-sqlite3',
          isStratusError: true,
        },
      });
      expect((result.sqliteError as { message: string }).message).toContain('npm install better-sqlite3');
    },
    60_000,
  );
});

describe('a project asking for another version of core than the drivers were built with', () => {
  it('gets one copy of core, the one it asked for, shared by the drivers (a peer dependency)', async () => {
    // core re-versioned 0.1.1: the drivers' peer range ^0.1.0 accepts it, so npm installs it once
    // (a regular dependency on 0.1.0 would have nested a second copy under each driver).
    const unpacked = path.join(work, 'core-0.1.1');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', tarballs.get('core')!, '-C', unpacked]);
    const manifest = path.join(unpacked, 'package', 'package.json');
    writeFileSync(
      manifest,
      JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), version: '0.1.1' }, null, 2),
    );
    const [repacked] = JSON.parse(
      await npm(work, 'pack', '--json', '--pack-destination', work, path.join(unpacked, 'package')),
    ) as Array<{ filename: string }>;

    const project = path.join(work, 'two-cores');
    await installProject(project, {
      '@stratus/core': `file:${path.join(work, repacked!.filename)}`,
      '@stratus/allocator': `file:${tarballs.get('allocator')}`,
      '@stratus/driver-simulator': `file:${tarballs.get('driver-simulator')}`,
    });
    const nodeModules = path.join(project, 'node_modules');
    const copies = copiesOf(nodeModules, '@stratus/core');
    expect(copies).toEqual([path.join(nodeModules, '@stratus', 'core')]);
    expect(versionOf(copies[0]!)).toBe('0.1.1');
    // The project and each driver resolve core to that copy.
    const probe = [
      "const { createRequire } = require('node:module');",
      "const path = require('node:path');",
      "const from = (pkg) => createRequire(path.join(process.cwd(), 'node_modules', pkg, 'package.json')).resolve('@stratus/core');",
      "console.log(JSON.stringify([require.resolve('@stratus/core'), from('@stratus/allocator'), from('@stratus/driver-simulator')]));",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['-e', probe], { cwd: project, env: npmEnv() });
    const resolved = JSON.parse(stdout) as string[];
    expect(new Set(resolved)).toEqual(new Set([path.join(nodeModules, '@stratus', 'core', 'dist', 'index.cjs')]));
    // npm sees the peer satisfied (an unmet or invalid peer makes `npm ls` fail).
    await expect(npm(project, 'ls', '--all')).resolves.toContain('@stratus/core@0.1.1');
  }, 150_000);
});
