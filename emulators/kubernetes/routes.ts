// URL → (resource, namespace, name, subresource, verb), the way the apiserver's request-info resolver
// reads /api/v1/… and /apis/<group>/<version>/… paths.
import { findResource, type ResourceDef } from './resources.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  resource: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: Verb;
}

export function resolve(method: string, url: URL): ResourceRequest | undefined {
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] as string;
    version = parts[2] as string;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (plural === undefined || extra.length > 0) return undefined;
  const resource = findResource(group, version, plural);
  if (!resource) return undefined;
  if (!resource.namespaced && namespace !== undefined) return undefined;
  if (resource.namespaced && name !== undefined && namespace === undefined) return undefined;
  const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  let verb: Verb | undefined;
  if (name === undefined) {
    if (method === 'GET') verb = watch ? 'watch' : 'list';
    else if (method === 'POST') verb = 'create';
    else if (method === 'DELETE') verb = 'deletecollection';
  } else {
    if (method === 'GET') verb = watch ? 'watch' : 'get';
    else if (method === 'PUT') verb = 'update';
    else if (method === 'PATCH') verb = 'patch';
    else if (method === 'DELETE') verb = 'delete';
  }
  if (!verb) return undefined;
  return {
    resource,
    verb,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
  };
}

/** `get:nodes`, `patch:nodes/status`, `update:leases`, `create:events.events.k8s.io`: the action in the request log and fault rules. */
export function actionName(r: ResourceRequest): string {
  const res =
    r.resource.group === '' || r.resource.group === 'coordination.k8s.io'
      ? r.resource.plural
      : `${r.resource.plural}.${r.resource.group}`;
  return `${r.verb}:${res}${r.subresource ? `/${r.subresource}` : ''}`;
}

export function isMutating(v: Verb): boolean {
  return v === 'create' || v === 'update' || v === 'patch' || v === 'delete' || v === 'deletecollection';
}
