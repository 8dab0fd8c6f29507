// What the GCE emulator reads off a request before serving it: the Compute v1 method its path names, the
// rate quota group that method counts against, and the bearer token naming the client.
import type { EmuRequest } from '../shared/types.ts';
import type { RateGroup } from './profile.ts';

/** A Compute v1 request path: the method it names and the resource ids in it. */
export interface Parsed {
  action: string;
  project?: string;
  name?: string;
  zone?: string;
}

export function parsePath(method: string, pathname: string): Parsed {
  const m = /^\/compute\/v1\/projects\/([^/]+)(\/.*)?$/.exec(pathname.replace(/\/+$/, ''));
  if (!m) return { action: 'unknown' };
  const project = decodeURIComponent(m[1] as string);
  const rest = (m[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  const at = (i: number) => rest[i];
  const is = (...parts: (string | null)[]) =>
    parts.length === rest.length && parts.every((p, i) => p === null || p === rest[i]);
  if (rest.length === 0 && method === 'GET') return { action: 'projects.get', project };
  if (is('global', 'routes'))
    return { action: method === 'POST' ? 'routes.insert' : method === 'GET' ? 'routes.list' : 'unknown', project };
  if (is('global', 'routes', null))
    return {
      action: method === 'DELETE' ? 'routes.delete' : method === 'GET' ? 'routes.get' : 'unknown',
      project,
      name: at(2) as string,
    };
  if (is('global', 'operations', null) && method === 'GET')
    return { action: 'globalOperations.get', project, name: at(2) as string };
  if (is('global', 'operations', null, 'wait') && method === 'POST')
    return { action: 'globalOperations.wait', project, name: at(2) as string };
  if (is('global', 'networks') && method === 'GET') return { action: 'networks.list', project };
  if (is('global', 'networks', null) && method === 'GET')
    return { action: 'networks.get', project, name: at(2) as string };
  if (is('aggregated', 'instances') && method === 'GET') return { action: 'instances.aggregatedList', project };
  if (is('zones', null, 'instances') && method === 'GET')
    return { action: 'instances.list', project, zone: at(1) as string };
  if (is('zones', null, 'instances', null) && method === 'GET')
    return { action: 'instances.get', project, zone: at(1) as string, name: at(3) as string };
  return { action: 'unknown', project };
}

/** The rate quota group a call counts against. */
export function rateGroup(action: string): RateGroup {
  if (action === 'routes.insert' || action === 'routes.delete') return 'default';
  if (action.startsWith('globalOperations.')) return 'operation_read_requests';
  if (action.endsWith('.list') || action.endsWith('aggregatedList')) return 'list_requests';
  return 'read_requests';
}

/** The bearer token (the client in the request log), or null. */
export function bearer(req: EmuRequest): string | null {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m ? (m[1] as string) : null;
}
