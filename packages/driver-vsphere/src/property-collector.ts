import { el, leaf, type MoRef, mor, typed, type XmlFragment } from './soap-xml.js';
import { driverErrorOfFault, faultOf } from './vim-fault.js';
import { moRefOf, type VimSession } from './vim-session.js';
import { child, childrenOf, textOf, type XNode } from './xml-node.js';

/** One object of a retrieve: its reference and the properties asked for that it has (by path). */
export interface ObjectContent {
  obj: MoRef;
  props: ReadonlyMap<string, XNode>;
}

/** A `PropertySpec`: which properties of which type. */
export function propertySpec(type: string, paths: readonly string[]): XmlFragment {
  return el('propSet', leaf('type', type), ...paths.map((p) => leaf('pathSet', p)));
}

/** A `TraversalSpec` (polymorphic inside `selectSet`, hence `xsi:type`). */
export function traversal(name: string, type: string, path: string, skip = false): XmlFragment {
  return typed(
    'selectSet',
    'TraversalSpec',
    leaf('name', name),
    leaf('type', type),
    leaf('path', path),
    leaf('skip', skip),
  );
}

/** An `ObjectSpec` starting at `obj`. */
export function objectSpec(obj: MoRef, skip: boolean, ...selectSet: XmlFragment[]): XmlFragment {
  return el('objectSet', mor('obj', obj), leaf('skip', skip), ...selectSet);
}

/** A `PropertyFilterSpec` element called `name` (`specSet` for retrieves, `spec` for `CreateFilter`). */
export function filterSpec(
  name: string,
  propSets: readonly XmlFragment[],
  objectSets: readonly XmlFragment[],
): XmlFragment {
  return el(name, ...propSets, ...objectSets);
}

/**
 * Checks an HTTP-200 retrieve for faults hidden in `missingSet` (drivers.md §11 pitfall 6): vcsim answers a retrieve
 * without a session this way, with `NotAuthenticated` inside, which the session turns into a re-login and a replay.
 */
export function checkMissingSet(response: XNode): void {
  const returnval = child(response, 'returnval');
  for (const obj of childrenOf(returnval, 'objects')) {
    const missing = child(obj, 'missingSet');
    if (missing === undefined) continue;
    const fault = child(child(missing, 'fault'), 'fault');
    const ref = moRefOf(child(obj, 'obj'));
    const message = textOf(child(missing, 'fault'), 'localizedMessage') ?? '';
    throw driverErrorOfFault(fault ? faultOf(fault, message) : { type: 'NotFound', message, fields: {} }, {
      operation: `RetrievePropertiesEx (${ref?.type ?? '?'} ${ref?.value ?? '?'}: ${textOf(missing, 'path') ?? ''})`,
    });
  }
}

function objectsOf(returnval: XNode | undefined): ObjectContent[] {
  return childrenOf(returnval, 'objects').map((o) => {
    const props = new Map<string, XNode>();
    for (const p of childrenOf(o, 'propSet')) {
      const name = textOf(p, 'name');
      const val = child(p, 'val');
      if (name !== undefined && val !== undefined) props.set(name, val);
    }
    return { obj: moRefOf(child(o, 'obj'))!, props };
  });
}

/** Options of a retrieve. */
export interface RetrieveOptions {
  signal?: AbortSignal;
  /** Page size asked of the server (`RetrieveOptions.maxObjects`); the driver follows every page. */
  maxObjects?: number;
}

/**
 * Reads inventory through the PropertyCollector (drivers.md §5.3): `RetrievePropertiesEx`, then
 * `ContinueRetrievePropertiesEx` while a token comes back, with every answer's `missingSet` checked.
 */
export class PropertyCollector {
  constructor(private readonly session: VimSession) {}

  /** Retrieves `specSet` (one or more filter specs), following every page. */
  async retrieve(specSet: readonly XmlFragment[], options: RetrieveOptions = {}): Promise<ObjectContent[]> {
    await this.session.open(options.signal ? { signal: options.signal } : {});
    const pc = this.session.content.propertyCollector;
    const call = { ...(options.signal ? { signal: options.signal } : {}), check: checkMissingSet };
    const res = await this.session.call(
      'RetrievePropertiesEx',
      pc,
      [...specSet, el('options', options.maxObjects ? leaf('maxObjects', options.maxObjects) : undefined)],
      call,
    );
    let returnval = child(res, 'returnval');
    const out = objectsOf(returnval);
    let token = textOf(returnval, 'token');
    while (token !== undefined && token !== '') {
      const next = await this.session.call('ContinueRetrievePropertiesEx', pc, [leaf('token', token)], call);
      returnval = child(next, 'returnval');
      out.push(...objectsOf(returnval));
      token = textOf(returnval, 'token');
    }
    return out;
  }

  /** The given properties of the given objects (all of one type). Missing objects fault `ManagedObjectNotFound`. */
  async properties(type: string, refs: readonly MoRef[], paths: readonly string[], options: RetrieveOptions = {}) {
    if (refs.length === 0) return [];
    return this.retrieve(
      [
        filterSpec(
          'specSet',
          [propertySpec(type, paths)],
          refs.map((r) => objectSpec(r, false)),
        ),
      ],
      options,
    );
  }

  /** The properties of one object (a map by path). */
  async one(ref: MoRef, paths: readonly string[], options: RetrieveOptions = {}): Promise<ReadonlyMap<string, XNode>> {
    const [o] = await this.properties(ref.type, [ref], paths, options);
    return o?.props ?? new Map();
  }

  /**
   * Every object of `type` (a type or several, e.g. a type and its subtypes the server may not match by itself) under
   * `container` (recursively) with the given properties, through a container view (`CreateContainerView`, destroyed
   * afterwards).
   */
  async list(
    container: MoRef,
    type: string | readonly string[],
    paths: readonly string[],
    options: RetrieveOptions = {},
  ): Promise<ObjectContent[]> {
    const types = typeof type === 'string' ? [type] : type;
    await this.session.open(options.signal ? { signal: options.signal } : {});
    const created = await this.session.call(
      'CreateContainerView',
      this.session.content.viewManager,
      [mor('container', container), ...types.map((t) => leaf('type', t)), leaf('recursive', true)],
      options.signal ? { signal: options.signal } : {},
    );
    const view = moRefOf(child(created, 'returnval'))!;
    try {
      return await this.retrieve(
        [
          filterSpec(
            'specSet',
            types.map((t) => propertySpec(t, paths)),
            [objectSpec(view, true, traversal('traverseView', 'ContainerView', 'view'))],
          ),
        ],
        options,
      );
    } finally {
      await this.session.call('DestroyView', view, [], {}).catch(() => undefined);
    }
  }
}
