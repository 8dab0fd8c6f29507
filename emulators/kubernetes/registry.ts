// Create/update/delete with the apiserver's generic registry rules: system metadata the client cannot set,
// optimistic concurrency (a stale metadata.resourceVersion is 409 Conflict), the status subresource split,
// no-op writes that keep the resourceVersion, graceful deletion (an object with finalizers gets a
// deletionTimestamp and lives on until an update removes the last finalizer) and `dryRun=All`: every
// check runs, nothing is stored.
import { randomUUID } from 'node:crypto';
import { apiVersionOf, qualifiedName, validateName, type ResourceDef } from './resources.ts';
import { alreadyExists, badRequest, conflict, fieldForbidden, invalid, notFound, type Obj } from './status.ts';
import { objectKey, type ObjectStore } from './store.ts';

export type Subresource = 'status' | undefined;

function isMap(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 3339 in whole seconds, as metav1.Time serializes. */
export function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const SYSTEM_FIELDS = [
  'uid',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'generation',
] as const;

export class Registry {
  private readonly store: ObjectStore;
  private readonly now: () => number;
  private readonly randomSuffix: () => string;

  constructor(store: ObjectStore, now: () => number, randomSuffix: () => string) {
    this.store = store;
    this.now = now;
    this.randomSuffix = randomSuffix;
  }

  private checkTypeMeta(r: ResourceDef, body: Obj): void {
    const want = apiVersionOf(r);
    if (body.apiVersion !== undefined && body.apiVersion !== want) {
      throw badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${want})`,
      );
    }
    if (body.kind !== undefined && body.kind !== r.kind)
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${r.kind})`);
  }

  private checkNamespace(r: ResourceDef, md: Obj, namespace: string | undefined): void {
    if (!r.namespaced) {
      delete md.namespace;
      return;
    }
    if (md.namespace !== undefined && md.namespace !== '' && md.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    md.namespace = namespace;
  }

  /** What the apiserver's JSON decoding refuses (400), before any validation (422). */
  private decode(r: ResourceDef, obj: Obj): void {
    const why = r.decode?.(obj);
    if (why) throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${why}`);
  }

  get(r: ResourceDef, namespace: string | undefined, name: string): Obj {
    const o = this.store.get(r, objectKey(namespace, name));
    if (!o) throw notFound(qualifiedName(r), r.kind, name);
    return o;
  }

  create(r: ResourceDef, namespace: string | undefined, body: unknown, dryRun = false): Obj {
    if (!isMap(body)) throw badRequest(`the body of a ${r.kind} must be a JSON object`);
    this.checkTypeMeta(r, body);
    const obj = structuredClone(body);
    const md = (isMap(obj.metadata) ? obj.metadata : (obj.metadata = {})) as Obj;
    if ((md.name === undefined || md.name === '') && typeof md.generateName === 'string' && md.generateName !== '') {
      md.name = `${md.generateName}${this.randomSuffix()}`;
    }
    const nameErrs = validateName(md.name);
    if (nameErrs.length > 0) throw invalid(r.kind, String(md.name ?? ''), nameErrs);
    const name = md.name as string;
    this.checkNamespace(r, md, namespace);
    if (this.store.get(r, objectKey(namespace, name))) throw alreadyExists(qualifiedName(r), r.kind, name);
    for (const f of SYSTEM_FIELDS) delete md[f];
    delete md.resourceVersion;
    md.uid = randomUUID();
    md.creationTimestamp = k8sTime(this.now());
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    this.decode(r, obj);
    r.normalize?.(obj);
    const errs = r.validate?.(obj, undefined) ?? [];
    if (errs.length > 0) throw invalid(r.kind, name, errs);
    if (dryRun) return obj;
    return this.store.put(r, objectKey(namespace, name), obj);
  }

  /**
   * Replaces the object with `candidate` (a PUT body, or the result of applying a patch to the current
   * object). A metadata.resourceVersion in it is a precondition.
   */
  update(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    candidate: unknown,
    sub: Subresource,
    dryRun = false,
  ): Obj {
    const key = objectKey(namespace, name);
    const current = this.store.get(r, key);
    if (!current) throw notFound(qualifiedName(r), r.kind, name);
    if (!isMap(candidate)) throw badRequest(`the body of a ${r.kind} must be a JSON object`);
    this.checkTypeMeta(r, candidate);
    const next = structuredClone(candidate);
    const md = (isMap(next.metadata) ? next.metadata : (next.metadata = {})) as Obj;
    if (md.name !== undefined && md.name !== name)
      throw badRequest(`the name of the object (${String(md.name)}) does not match the name on the URL (${name})`);
    md.name = name;
    this.checkNamespace(r, md, namespace);
    const cur = current.metadata as Obj;
    const want = md.resourceVersion;
    if (want !== undefined && want !== '' && want !== cur.resourceVersion)
      throw conflict(qualifiedName(r), r.kind, name);
    for (const f of SYSTEM_FIELDS) {
      if (cur[f] === undefined) delete md[f];
      else md[f] = cur[f];
    }
    md.resourceVersion = cur.resourceVersion;
    next.apiVersion = apiVersionOf(r);
    next.kind = r.kind;
    if (r.statusSubresource) {
      // The main endpoint cannot change status; nodes/status cannot change spec (the registry strategies).
      if (sub === 'status') next.spec = structuredClone(current.spec);
      else if (current.status === undefined) delete next.status;
      else next.status = structuredClone(current.status);
    }
    if (cur.deletionTimestamp !== undefined) {
      const before = new Set((cur.finalizers as string[] | undefined) ?? []);
      const added = ((md.finalizers as string[] | undefined) ?? []).filter((f) => !before.has(f));
      if (added.length > 0) {
        throw invalid(r.kind, name, [
          fieldForbidden(
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          ),
        ]);
      }
    }
    this.decode(r, next);
    r.normalize?.(next);
    const errs = r.validate?.(next, current) ?? [];
    if (errs.length > 0) throw invalid(r.kind, name, errs);
    if (Array.isArray(md.finalizers) && md.finalizers.length === 0) delete md.finalizers;
    if (JSON.stringify(canonical(next)) === JSON.stringify(canonical(current))) return current;
    if (dryRun) return next;
    if (cur.deletionTimestamp !== undefined && !(Array.isArray(md.finalizers) && md.finalizers.length > 0)) {
      this.store.put(r, key, next);
      return this.store.remove(r, key) as Obj;
    }
    return this.store.put(r, key, next);
  }

  /**
   * DELETE: gone at once without finalizers; with them, marked with a deletionTimestamp (the Node of
   * kubernetes#127792 that stays around on a finalizer). `pending` says which.
   */
  delete(
    r: ResourceDef,
    namespace: string | undefined,
    name: string,
    options: unknown,
    dryRun = false,
  ): { obj: Obj; pending: boolean } {
    const key = objectKey(namespace, name);
    const current = this.store.get(r, key);
    if (!current) throw notFound(qualifiedName(r), r.kind, name);
    const cur = current.metadata as Obj;
    const pre = isMap(options) && isMap(options.preconditions) ? options.preconditions : {};
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== cur.resourceVersion) {
      throw conflict(
        qualifiedName(r),
        r.kind,
        name,
        `the ResourceVersion in the precondition (${String(pre.resourceVersion)}) does not match the ResourceVersion in record (${String(cur.resourceVersion)}). The object might have been modified`,
      );
    }
    if (pre.uid !== undefined && pre.uid !== cur.uid) {
      throw conflict(
        qualifiedName(r),
        r.kind,
        name,
        `the UID in the precondition (${String(pre.uid)}) does not match the UID in record (${String(cur.uid)}). The object might have been deleted and then recreated`,
      );
    }
    const finalizers = (cur.finalizers as string[] | undefined) ?? [];
    if (dryRun) return { obj: current, pending: finalizers.length > 0 };
    if (finalizers.length > 0) {
      if (cur.deletionTimestamp !== undefined) return { obj: current, pending: true };
      cur.deletionTimestamp = k8sTime(this.now());
      cur.deletionGracePeriodSeconds = 0;
      return { obj: this.store.put(r, key, current), pending: true };
    }
    return { obj: this.store.remove(r, key) as Obj, pending: false };
  }

  /** Removes at once, finalizers or not (the admin API's force delete). */
  forceDelete(r: ResourceDef, namespace: string | undefined, name: string): Obj | undefined {
    return this.store.remove(r, objectKey(namespace, name));
  }
}

function canonical(o: Obj): Obj {
  const c = structuredClone(o);
  const md = c.metadata as Obj;
  delete md.resourceVersion;
  delete md.managedFields;
  return sortKeys(c) as Obj;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isMap(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}
