/**
 * The shape of the public API: every package entry point lists its exports by name, documents
 * each with TSDoc, and keeps core's internals out (ARCHITECTURE.md, "The public API"). The API
 * reports (`packages/<pkg>/api/*.api.md`, `npm run api:check`) lock the signatures; this test
 * locks the rules the reports cannot see.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every published entry point: the package name it is imported as and its source file. */
const ENTRY_POINTS: Record<string, string> = {
  '@stratus/core': 'packages/core/src/index.ts',
  '@stratus/core/driver-kit': 'packages/core/src/driver-kit.ts',
  '@stratus/allocator': 'packages/allocator/src/index.ts',
  '@stratus/driver-simulator': 'packages/driver-simulator/src/index.ts',
  '@stratus/driver-kvm': 'packages/driver-kvm/src/index.ts',
  '@stratus/testkit': 'packages/testkit/src/index.ts',
  '@stratus/testkit/libvirt-test-daemon': 'packages/testkit/src/harness/libvirt-test-daemon.ts',
  '@stratus/testkit/fake-xapi': 'packages/testkit/src/fake-xapi/index.ts',
  '@stratus/testkit/fake-junos': 'packages/testkit/src/fake-junos/index.ts',
  '@stratus/driver-vsphere': 'packages/driver-vsphere/src/index.ts',
  '@stratus/driver-xen': 'packages/driver-xen/src/index.ts',
  '@stratus/driver-srx': 'packages/driver-srx/src/index.ts',
};

/** Core's machinery that application code must not reach (named in issue 14 and its kind). */
const CORE_INTERNALS = [
  'getVm',
  'getHostRef',
  'newUuid',
  'decoder',
  'Repo',
  'runDirect',
  'executeCached',
  'hostRepo',
  'vmRepo',
  'networkDeps',
  'createNetworkLayer',
  'PlacementIndex',
  'IpAllocator',
  'requireAccess',
];

const program = ts.createProgram(
  Object.values(ENTRY_POINTS).map((f) => path.join(root, f)),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  },
);
const checker = program.getTypeChecker();

/** The names an entry point exports, each with whether its declaration carries a doc comment. */
function exportsOf(file: string): Map<string, boolean> {
  const source = program.getSourceFile(path.join(root, file));
  if (!source) throw new Error(`${file} is not in the program`);
  const module = checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`${file} is not a module`);
  const names = new Map<string, boolean>();
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const documented = (target.declarations ?? []).some(
      (d) => ts.getJSDocCommentsAndTags(ts.isVariableDeclaration(d) ? d.parent.parent : d).length > 0,
    );
    names.set(symbol.name, documented);
  }
  return names;
}

const exported = Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, file]) => [name, exportsOf(file)]));

describe('public API', () => {
  it.each(Object.entries(ENTRY_POINTS))('%s lists its exports by name (no export *)', (_name, file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    expect(text).not.toMatch(/^export \*/m);
  });

  it.each(Object.keys(ENTRY_POINTS))('every export of %s has a TSDoc comment', (name) => {
    const undocumented = [...exported[name]!].filter(([, documented]) => !documented).map(([n]) => n);
    expect(undocumented).toEqual([]);
  });

  it("keeps core's internals out of every entry point", () => {
    for (const [name, names] of Object.entries(exported)) {
      expect({ name, leaked: CORE_INTERNALS.filter((n) => names.has(n)) }).toEqual({ name, leaked: [] });
    }
  });

  it('gives the driver kit only what the main entry point does not export', () => {
    const main = exported['@stratus/core']!;
    const both = [...exported['@stratus/core/driver-kit']!.keys()].filter((n) => main.has(n));
    expect(both).toEqual([]);
  });

  it('exposes the network services without their wiring', () => {
    const source = program.getSourceFile(path.join(root, 'packages/core/src/cloud.ts'))!;
    const cloud = checker.getSymbolAtLocation(source)!.exports!.get(ts.escapeLeadingUnderscores('Cloud'))!;
    const network = checker.getTypeOfSymbol(cloud).getProperty('prototype')!;
    const networkType = checker.getTypeOfSymbol(checker.getTypeOfSymbol(network).getProperty('network')!);
    expect(networkType.getProperty('deps')).toBeUndefined();
    expect(networkType.getProperty('networks')).toBeDefined();
  });
});
