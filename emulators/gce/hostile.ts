// Hostile Compute REST/JSON responses for the shared `hostile` faults: see emulators/shared/hostile.ts.
import type { EmuResponse } from '../shared/types.ts';

type Json = Record<string, unknown>;

/** Every item array of a list or aggregatedList document. */
function itemArrays(doc: Json): Json[][] {
  if (Array.isArray(doc.items)) return [doc.items as Json[]];
  if (doc.items && typeof doc.items === 'object') {
    return Object.values(doc.items as Record<string, Json>)
      .map((scoped) => scoped.instances ?? scoped.routes)
      .filter((a): a is Json[] => Array.isArray(a));
  }
  return [];
}

export function hostileGce(kind: string, _action: string, real: EmuResponse): EmuResponse | undefined {
  if (kind === 'error-200') {
    return {
      ...real,
      body: JSON.stringify({
        error: {
          code: 500,
          message: 'hostile',
          errors: [{ reason: 'backendError', message: 'hostile', domain: 'global' }],
        },
      }),
    };
  }
  let doc: Json;
  try {
    doc = JSON.parse(real.body) as Json;
  } catch {
    return undefined;
  }
  if (typeof doc.kind !== 'string' || !/List$/.test(doc.kind)) return undefined;
  switch (kind) {
    case 'empty-listing':
      delete doc.items;
      delete doc.nextPageToken;
      break;
    case 'missing-fields':
      for (const list of itemArrays(doc)) {
        for (const i of list) {
          delete i.destRange;
          delete i.networkInterfaces;
          delete i.name;
        }
      }
      break;
    case 'wrong-types':
      for (const list of itemArrays(doc)) {
        for (const i of list) {
          if ('destRange' in i) i.destRange = 12345;
          if ('networkInterfaces' in i) i.networkInterfaces = 'hostile';
        }
      }
      break;
    default:
      return undefined;
  }
  return { ...real, body: JSON.stringify(doc) };
}
