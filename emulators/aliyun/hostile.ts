// Hostile Aliyun RPC/JSON responses for the shared `hostile` faults: see emulators/shared/hostile.ts.
import type { EmuResponse } from '../shared/types.ts';

type Json = Record<string, unknown>;

function items(doc: Json): { list: Json[]; kind: 'routes' | 'instances' | 'tables' } | undefined {
  const pick = (outer: string, inner: string) =>
    ((doc[outer] as Json | undefined)?.[inner] as Json[] | undefined) ?? undefined;
  const routes = pick('RouteEntrys', 'RouteEntry');
  if (Array.isArray(routes)) return { list: routes, kind: 'routes' };
  const instances = pick('Instances', 'Instance');
  if (Array.isArray(instances)) return { list: instances, kind: 'instances' };
  const tables = pick('RouterTableList', 'RouterTableListType');
  if (Array.isArray(tables)) return { list: tables, kind: 'tables' };
  return undefined;
}

export function hostileAliyun(kind: string, _action: string, real: EmuResponse): EmuResponse | undefined {
  if (kind === 'error-200') {
    return { ...real, body: JSON.stringify({ Code: 'InternalError', Message: 'hostile', RequestId: 'hostile-1' }) };
  }
  let doc: Json;
  try {
    doc = JSON.parse(real.body) as Json;
  } catch {
    return undefined;
  }
  const found = items(doc);
  if (!found) return undefined;
  const { list, kind: what } = found;
  switch (kind) {
    case 'empty-listing':
      list.length = 0;
      if ('TotalCount' in doc) doc.TotalCount = 0;
      if ('NextToken' in doc) doc.NextToken = '';
      break;
    case 'missing-fields':
      for (const i of list) {
        if (what === 'routes') delete i.DestinationCidrBlock;
        if (what === 'instances') {
          delete i.InstanceId;
          delete i.VpcAttributes;
        }
        if (what === 'tables') delete i.RouteTableId;
      }
      break;
    case 'wrong-types':
      for (const i of list) {
        if (what === 'routes') i.DestinationCidrBlock = 12345;
        if (what === 'instances') i.VpcAttributes = 'hostile';
        if (what === 'tables') i.RouteTableId = { hostile: true };
      }
      break;
    default:
      return undefined;
  }
  return { ...real, body: JSON.stringify(doc) };
}
