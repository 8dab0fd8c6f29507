// The three patch types the apiserver accepts for built-in objects (server-side apply is not served):
// - application/merge-patch+json (RFC 7386): maps merge, null deletes, lists replace;
// - application/strategic-merge-patch+json: like merge, but the lists whose Go types carry
//   `patchStrategy:"merge"` merge by their key — only the fields this emulator serves are listed in
//   MERGE_LISTS — plus the `$patch`, `$deleteFromPrimitiveList/…`, `$retainKeys` and `$setElementOrder/…`
//   directives;
// - application/json-patch+json (RFC 6902): add, remove, replace, move, copy, test.
import { ApiError, badRequest, type Obj } from './status.ts';

export type PatchType = 'merge' | 'strategic' | 'json';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

/** Lists merged by key (`mergeKey`) or as sets of primitives (no key), by path with list indices dropped. */
const MERGE_LISTS: Record<string, { mergeKey?: string }> = {
  'metadata.finalizers': {},
  'metadata.ownerReferences': { mergeKey: 'uid' },
  'spec.podCIDRs': {},
  'status.conditions': { mergeKey: 'type' },
  'status.addresses': { mergeKey: 'type' },
  'status.images': { mergeKey: 'names' },
};

function isMap(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

export function applyPatch(type: PatchType, original: Obj, patchText: string): Obj {
  let patch: unknown;
  try {
    patch = JSON.parse(patchText);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  if (type === 'json') {
    if (!Array.isArray(patch)) throw badRequest('json patch: the body must be a JSON array of operations');
    return jsonPatch(original, patch);
  }
  if (!isMap(patch)) throw badRequest(`${type} patch: the body must be a JSON object`);
  const out = type === 'merge' ? mergePatch(original, patch) : strategicMap(original, patch, '');
  if (!isMap(out)) throw badRequest(`${type} patch: the result is not an object`);
  return out;
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const out: Obj = isMap(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function strategicMap(original: unknown, patch: Obj, path: string): Obj | undefined {
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  const out: Obj = isMap(original) ? clone(original) : {};
  let retain: string[] | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch') continue;
    if (k.startsWith('$setElementOrder/')) continue; // ordering hint only
    if (k === '$retainKeys') {
      retain = Array.isArray(v) ? v.map(String) : undefined;
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const key = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = Array.isArray(v) ? v : [];
      if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).filter((x) => !drop.some((d) => d === x));
      continue;
    }
    const childPath = path === '' ? k : `${path}.${k}`;
    if (v === null) {
      delete out[k];
    } else if (isMap(v)) {
      const merged = strategicMap(out[k], v, childPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v) && MERGE_LISTS[childPath] && Array.isArray(out[k])) {
      out[k] = strategicList(out[k] as unknown[], v, childPath, MERGE_LISTS[childPath].mergeKey);
    } else {
      out[k] = clone(v);
    }
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function strategicList(original: unknown[], patch: unknown[], path: string, mergeKey: string | undefined): unknown[] {
  if (patch.some((p) => isMap(p) && p.$patch === 'replace'))
    return clone(patch.filter((p) => !(isMap(p) && p.$patch === 'replace')));
  if (mergeKey === undefined) {
    const out = clone(original);
    for (const p of patch) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(p))) out.push(clone(p));
    return out;
  }
  const out = clone(original);
  for (const p of patch) {
    if (!isMap(p) || !(mergeKey in p))
      throw badRequest(`strategic merge patch: an element of ${path} lacks its merge key "${mergeKey}"`);
    const at = out.findIndex((x) => isMap(x) && JSON.stringify(x[mergeKey]) === JSON.stringify(p[mergeKey]));
    if (p.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const merged = strategicMap(out[at], p, path);
      if (merged === undefined) out.splice(at, 1);
      else out[at] = merged;
    } else {
      const { $patch: _, ...rest } = p;
      out.push(clone(rest));
    }
  }
  return out;
}

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/')))
    throw patchFailed(`json patch: path ${JSON.stringify(path)} is not a JSON pointer`);
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], op: string): { parent: Obj | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const p of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isMap(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined) throw patchFailed(`json patch ${op}: missing path /${parts.join('/')}`);
  }
  if (!Array.isArray(cur) && !isMap(cur))
    throw patchFailed(`json patch ${op}: /${parts.join('/')} is not inside an object or array`);
  return { parent: cur, key: parts[parts.length - 1] as string };
}

function getAt(doc: unknown, parts: string[], op: string): unknown {
  let cur: unknown = doc;
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isMap(cur)) cur = Object.hasOwn(cur, p) ? cur[p] : undefined;
    else cur = undefined;
    if (cur === undefined) throw patchFailed(`json patch ${op}: missing path /${parts.join('/')}`);
  }
  return cur;
}

function arrayIndex(arr: unknown[], key: string, allowEnd: boolean, op: string): number {
  if (allowEnd && key === '-') return arr.length;
  const i = Number(key);
  if (!/^\d+$/.test(key) || i > arr.length || (!allowEnd && i === arr.length))
    throw patchFailed(`json patch ${op}: index ${key} out of range`);
  return i;
}

function removeAt(doc: unknown, parts: string[], op: string): unknown {
  const { parent, key } = parentOf(doc, parts, op);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, op), 1)[0];
  if (!Object.hasOwn(parent, key)) throw patchFailed(`json patch ${op}: missing path /${parts.join('/')}`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: Obj, parts: string[], value: unknown, op: string): Obj {
  if (parts.length === 0) {
    if (!isMap(value)) throw patchFailed('json patch: the document must stay an object');
    return clone(value);
  }
  const { parent, key } = parentOf(doc, parts, op);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, op), 0, clone(value));
  else parent[key] = clone(value);
  return doc;
}

export function jsonPatch(original: Obj, ops: unknown[]): Obj {
  let doc = clone(original);
  for (const raw of ops) {
    if (!isMap(raw) || typeof raw.op !== 'string') throw badRequest('json patch: every operation needs an "op"');
    const op = raw.op;
    const parts = pointer(raw.path);
    switch (op) {
      case 'add':
        if (!('value' in raw)) throw badRequest('json patch add: missing "value"');
        doc = addAt(doc, parts, raw.value, op);
        break;
      case 'remove':
        removeAt(doc, parts, op);
        break;
      case 'replace':
        if (!('value' in raw)) throw badRequest('json patch replace: missing "value"');
        getAt(doc, parts, op);
        if (parts.length > 0) removeAt(doc, parts, op);
        doc = addAt(doc, parts, raw.value, op);
        break;
      case 'move': {
        const from = pointer(raw.from);
        const v = removeAt(doc, from, op);
        doc = addAt(doc, parts, v, op);
        break;
      }
      case 'copy': {
        const v = getAt(doc, pointer(raw.from), op);
        doc = addAt(doc, parts, v, op);
        break;
      }
      case 'test': {
        const v = getAt(doc, parts, op);
        if (JSON.stringify(v) !== JSON.stringify(raw.value))
          throw patchFailed(`json patch test failed at /${parts.join('/')}`);
        break;
      }
      default:
        throw badRequest(`json patch: unknown op "${op}"`);
    }
  }
  return doc;
}
