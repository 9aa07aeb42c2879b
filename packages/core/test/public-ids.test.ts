import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cloud, createCloud } from '../src/cloud.js';
import { NotFoundError } from '../src/errors.js';
import { sqliteStore } from '../src/store/sqlite-store.js';

/**
 * Every public service method, read from the declarations of `Cloud` (so a method added later is
 * checked too): each parameter named as an id (`id`, `…Id`, `…Ids`), and each such property of an
 * object parameter (inputs, filters, options), must accept a uuid string as well as a number; and
 * the first id parameter of every method is resolved at its entry, so an unknown uuid there is a
 * NotFoundError naming that parameter.
 */

interface IdParameter {
  /** `zones.get`, `network.vpcs.replaceTierAcl`. */
  method: string;
  /** `id`, `zoneId`, or `input.zoneId` for a property of an object parameter. */
  name: string;
  position: number;
  acceptsUuid: boolean;
}

interface PublicMethod {
  path: string[];
  parameters: string[];
  ids: IdParameter[];
}

/** A reference by name: `id`, `…Id`, `…Ids` (a `deviceId` is a disk or NIC slot number, not a record's id). */
const isIdName = (name: string) => name !== 'deviceId' && (name === 'id' || /[a-z]Ids?$/.test(name));

/** Wiring the services expose for each other (they take a transaction or a connection): not a user's API. */
const takesTransaction = (types: string[]) => types.some((t) => t === 'Writer') || types[0] === 'Db';

/**
 * Not converted yet (each is named so the list can only shrink): settings targets and the limit
 * counter are read on every operation's hot path with numeric ids; the template-storage and
 * volume-creation entries are the wiring the VM starter drives.
 */
const NOT_YET = new Set([
  'limits.count',
  'settings.get',
  'settings.set',
  'settings.reset',
  'settings.list',
  'templateStorage.storeRefs',
  'templateStorage.download',
  'templateStorage.stageOnPool',
  'templateStorage.cleanupUnusedPoolCopies',
  'volumes.createOnPool',
  'volumes.planCreate',
]);

/** Properties of `Cloud` that are not services a user calls with ids. */
const NOT_SERVICES = new Set(['context', 'store', 'drivers', 'managementServer', 'tasks', 'recovery']);

function publicMethods(): PublicMethod[] {
  const file = fileURLToPath(new URL('../src/cloud.ts', import.meta.url));
  const program = ts.createProgram([file], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  let cloud: ts.Type | undefined;
  ts.forEachChild(source, (node) => {
    if (ts.isClassDeclaration(node) && node.name?.text === 'Cloud') cloud = checker.getTypeAtLocation(node);
  });
  const acceptsString = (type: ts.Type): boolean => {
    const t = checker.getNonNullableType(type);
    if (checker.isArrayType(t)) return acceptsString(checker.getTypeArguments(t as ts.TypeReference)[0]!);
    return checker.isTypeAssignableTo(checker.getStringType(), t);
  };
  const isPublic = (symbol: ts.Symbol) => {
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (!declaration) return true;
    const flags = ts.getCombinedModifierFlags(declaration as ts.Declaration);
    return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0 && !symbol.name.startsWith('#');
  };
  const out: PublicMethod[] = [];
  const walk = (path: string[], type: ts.Type, depth: number) => {
    for (const symbol of checker.getPropertiesOfType(type)) {
      if (!isPublic(symbol)) continue;
      const memberType = checker.getTypeOfSymbol(symbol);
      const signature = memberType.getCallSignatures()[0];
      if (signature === undefined) {
        // Services (and the network layer's services) are classes whose methods we walk.
        if (depth === 0 && NOT_SERVICES.has(symbol.name)) continue;
        if (depth < 2 && memberType.getSymbol()?.flags && memberType.getCallSignatures().length === 0) {
          const name = checker.typeToString(memberType);
          if (/^[A-Z]\w*(Services?|Layer|Reconciler)$/.test(name)) walk([...path, symbol.name], memberType, depth + 1);
        }
        continue;
      }
      if (depth === 0) continue; // Cloud's own methods (as, close, recover, capacityReport)
      const parameters = signature.getParameters();
      const types = parameters.map((p) => checker.typeToString(checker.getTypeOfSymbol(p)));
      if (takesTransaction(types) || NOT_YET.has([...path, symbol.name].join('.'))) continue;
      const ids: IdParameter[] = [];
      parameters.forEach((parameter, position) => {
        const type = checker.getTypeOfSymbol(parameter);
        const method = [...path, symbol.name].join('.');
        if (isIdName(parameter.name)) {
          ids.push({ method, name: parameter.name, position, acceptsUuid: acceptsString(type) });
          return;
        }
        const objectType = checker.getNonNullableType(type);
        if (objectType.getCallSignatures().length > 0 || checker.isArrayType(objectType)) return;
        // A record passed whole (a VM, a NIC, a network, a caller's identity) is not a reference to resolve.
        const isRecord = (t: ts.Type) =>
          (t.getProperty('id') !== undefined && t.getProperty('uuid') !== undefined) ||
          t.getProperty('userId') !== undefined;
        if ((objectType.isUnion() ? objectType.types : [objectType]).some(isRecord)) return;
        for (const constituent of objectType.isUnion() ? objectType.types : [objectType]) {
          if (!(constituent.flags & ts.TypeFlags.Object)) continue;
          for (const property of checker.getPropertiesOfType(constituent)) {
            if (!isIdName(property.name)) continue;
            ids.push({
              method,
              name: `${parameter.name}.${property.name}`,
              position,
              acceptsUuid: acceptsString(checker.getTypeOfSymbol(property)),
            });
          }
        }
      });
      out.push({ path: [...path, symbol.name], parameters: parameters.map((p) => p.name), ids });
    }
  };
  walk([], cloud!, 0);
  return out;
}

const methods = publicMethods();

describe('public service methods take a uuid wherever they take an id', () => {
  it('finds the services and their id parameters in the declarations', () => {
    const names = methods.map((m) => m.path.join('.'));
    // A sample of what must be found, so a broken walk cannot pass by finding nothing.
    for (const expected of ['zones.get', 'vms.deploy', 'network.vpcs.replaceTierAcl', 'volumes.attach', 'jobs.get'])
      expect(names).toContain(expected);
    expect(methods.flatMap((m) => m.ids).length).toBeGreaterThan(150);
  });

  it('every id parameter, and every id of an input, filter or options object, accepts a uuid string', () => {
    const refused = methods
      .flatMap((m) => m.ids)
      .filter((p) => !p.acceptsUuid)
      .map((p) => `${p.method}(${p.name})`);
    expect(refused).toEqual([]);
  });

  describe('an unknown uuid in the first id parameter is NotFound naming it', () => {
    let cloud: Cloud;
    beforeAll(async () => {
      cloud = await createCloud({ store: sqliteStore() });
    });
    afterAll(() => cloud.close());

    const positional = methods.filter((m) => m.ids.some((p) => !p.name.includes('.')));
    it.each(positional.map((m) => [m.path.join('.'), m] as const))('%s', async (_name, method) => {
      const first = method.ids.find((p) => !p.name.includes('.'))!;
      let target: unknown = cloud;
      for (const key of method.path.slice(0, -1)) target = (target as Record<string, unknown>)[key];
      const fn = (target as Record<string, (...args: unknown[]) => Promise<unknown>>)[method.path.at(-1)!]!;
      const args: unknown[] = method.parameters.map(() => undefined);
      // Ids before the first are none by construction; later parameters are left out (undefined / defaults).
      const uuid = randomUUID();
      args[first.position] = uuid;
      const error = await Promise.resolve()
        .then(() => fn.apply(target, args.slice(0, first.position + 1)))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ field: first.name, value: uuid });
    });
  });
});
