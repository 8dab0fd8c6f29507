// The REST verbs other than watch: get, list (selectors, limit/continue, resourceVersion semantics),
// create, update, patch (three patch types) and delete, answered as the apiserver answers them.
import { applyPatch, PATCH_CONTENT_TYPES } from './patch.ts';
import type { Registry } from './registry.ts';
import { apiVersionOf, qualifiedName, type ResourceDef } from './resources.ts';
import type { ResourceRequest } from './routes.ts';
import { parseFieldSelector, parseLabelSelector, type Selector } from './selectors.ts';
import { ApiError, badRequest, expired, notFound, successStatus, type Obj } from './status.ts';
import { objectKey, type ObjectStore } from './store.ts';
import { toTable, type IncludeObject } from './table.ts';

export interface ApiResult {
  status: number;
  body: Obj;
}

export interface ListQuery {
  label: Selector;
  field: Selector;
}

export function selectorsOf(url: URL): ListQuery {
  return {
    label: parseLabelSelector(url.searchParams.get('labelSelector')),
    field: parseFieldSelector(url.searchParams.get('fieldSelector')),
  };
}

export function matches(q: ListQuery, o: Obj): boolean {
  return q.label.matches(o) && q.field.matches(o);
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { rv?: unknown; start?: unknown };
    if (Number.isInteger(t.rv) && typeof t.start === 'string') return { rv: t.rv as number, start: t.start };
  } catch {
    // falls through to the apiserver's message
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function parseRv(s: string, what: string): number {
  if (!/^\d+$/.test(s))
    throw badRequest(`${what}: invalid value "${s}": must be a resource version the server returned`);
  return Number(s);
}

function keyOf(o: Obj): string {
  const md = o.metadata as Obj;
  return objectKey(md.namespace as string | undefined, md.name as string);
}

function itemOf(o: Obj): Obj {
  // Typed lists carry kind/apiVersion on the list, not on each item.
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

export class KubeApi {
  private readonly store: ObjectStore;
  private readonly registry: Registry;
  private readonly now: () => number;

  constructor(store: ObjectStore, registry: Registry, now: () => number) {
    this.store = store;
    this.registry = registry;
    this.now = now;
  }

  handle(req: ResourceRequest, url: URL, body: string, contentType: string, table: string | undefined): ApiResult {
    const r = req.resource;
    const ns = req.namespace;
    if (req.subresource !== undefined && !(req.subresource === 'status' && r.statusSubresource)) {
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
    }
    const sub = req.subresource === 'status' ? 'status' : undefined;
    const dryRunParam = url.searchParams.getAll('dryRun');
    if (dryRunParam.some((d) => d !== 'All'))
      throw badRequest(`Invalid dry run value: ${JSON.stringify(dryRunParam)}: valid values are "All"`);
    const dryRun = dryRunParam.length > 0;
    const includeObject = (url.searchParams.get('includeObject') ?? 'Metadata') as IncludeObject;
    const render = (o: Obj): Obj =>
      table !== undefined && req.verb === 'get'
        ? toTable(r, [o], { resourceVersion: (o.metadata as Obj).resourceVersion }, includeObject, this.now(), table)
        : o;
    switch (req.verb) {
      case 'list':
        return { status: 200, body: this.list(r, ns, url, table, includeObject) };
      case 'get':
        if (r.alwaysEmpty) throw notFound(qualifiedName(r), r.kind, req.name as string);
        return { status: 200, body: render(this.registry.get(r, ns, req.name as string)) };
      case 'create':
        if (req.subresource !== undefined || r.alwaysEmpty) throw methodNotAllowed();
        return { status: 201, body: this.registry.create(r, ns, parseBody(body), dryRun) };
      case 'update':
        if (r.alwaysEmpty) throw methodNotAllowed();
        return { status: 200, body: this.registry.update(r, ns, req.name as string, parseBody(body), sub, dryRun) };
      case 'patch': {
        if (r.alwaysEmpty) throw methodNotAllowed();
        const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
        const type = PATCH_CONTENT_TYPES[mediaType];
        if (!type) {
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`,
          );
        }
        const current = this.registry.get(r, ns, req.name as string);
        return {
          status: 200,
          body: this.registry.update(r, ns, req.name as string, applyPatch(type, current, body), sub, dryRun),
        };
      }
      case 'delete': {
        if (req.subresource !== undefined || r.alwaysEmpty) throw methodNotAllowed();
        const { obj, pending } = this.registry.delete(
          r,
          ns,
          req.name as string,
          body.trim() === '' ? {} : parseBody(body),
          dryRun,
        );
        const md = obj.metadata as Obj;
        return { status: 200, body: pending ? obj : successStatus({ name: md.name, kind: r.plural, uid: md.uid }) };
      }
      default:
        throw methodNotAllowed();
    }
  }

  private list(
    r: ResourceDef,
    ns: string | undefined,
    url: URL,
    table: string | undefined,
    includeObject: IncludeObject,
  ): Obj {
    const q = selectorsOf(url);
    const limitRaw = url.searchParams.get('limit');
    const limit = limitRaw === null || limitRaw === '' ? 0 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 0)
      throw badRequest(`limit: invalid value "${limitRaw}": must be a non-negative integer`);
    const cont = url.searchParams.get('continue');
    const rvParam = url.searchParams.get('resourceVersion');
    const match = url.searchParams.get('resourceVersionMatch');
    let atRv = this.store.currentRv();
    let start = '';
    if (cont) {
      if (rvParam) throw badRequest('specifying resource version is not allowed when using continue');
      const t = decodeContinue(cont);
      atRv = t.rv;
      start = t.start;
    } else if (rvParam && match === 'Exact') {
      atRv = parseRv(rvParam, 'resourceVersion');
    } else if (rvParam && rvParam !== '0' && parseRv(rvParam, 'resourceVersion') > atRv) {
      throw new ApiError(504, 'Timeout', `Too large resource version: ${rvParam}, current: ${atRv}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
    let objs: Obj[];
    if (r.alwaysEmpty) objs = [];
    else {
      const snap = atRv === this.store.currentRv() ? this.store.list(r, ns) : this.store.snapshotAt(r, atRv, ns);
      if (!snap) {
        throw cont
          ? expired(
              'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
            )
          : expired(`too old resource version: ${atRv} (${this.store.oldestRv()})`);
      }
      objs = snap;
    }
    const selected = objs.filter((o) => keyOf(o) > start && matches(q, o));
    const page = limit > 0 ? selected.slice(0, limit) : selected;
    const rest = selected.length - page.length;
    const listMeta: Obj = { resourceVersion: String(atRv) };
    if (rest > 0) {
      listMeta.continue = encodeContinue({ rv: atRv, start: keyOf(page[page.length - 1] as Obj) });
      if (q.label.empty && q.field.empty) listMeta.remainingItemCount = rest;
    }
    if (table !== undefined) return toTable(r, page, listMeta, includeObject, this.now(), table);
    return { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: listMeta, items: page.map(itemOf) };
  }
}

function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}
