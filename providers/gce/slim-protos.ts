// The Compute clients each build a protobuf.js Root from the package's whole protos.json (every Compute
// service, ~12 MB of JSON): ~100 MB of RSS for five clients, and the REST fallback needs the Root only to
// encode requests and decode answers of the methods actually called. This hands the clients, through their
// documented `gaxInstance` constructor argument, a google-gax whose GrpcClient builds one shared Root from
// just those methods and the message types they reach. A method left out is missing from the stub, so
// calling it fails loudly ("is not a function"), never silently.
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import type { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import type { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import type { NetworksClient } from '@google-cloud/compute/build/src/v1/networks_client.js';
import type { ProjectsClient } from '@google-cloud/compute/build/src/v1/projects_client.js';
import type { RoutesClient } from '@google-cloud/compute/build/src/v1/routes_client.js';

const require = createRequire(import.meta.url);

/** Compute services and the methods routesync calls (proto names). */
export const USED_METHODS: Readonly<Record<string, readonly string[]>> = {
  Routes: ['Delete', 'Get', 'Insert', 'List'],
  GlobalOperations: ['Get', 'Wait'],
  Instances: ['AggregatedList', 'Get', 'List'],
  Projects: ['Get'],
  Networks: ['Get', 'List'],
};

const PKG = 'google.cloud.compute.v1';

interface JsonNs {
  nested?: Record<string, JsonNs>;
  methods?: Record<string, { requestType: string; responseType: string }>;
  fields?: Record<string, { type: string; keyType?: string }>;
  [k: string]: unknown;
}

/** protos.json reduced to `methods`: other packages kept whole (small), Compute's pruned to what they reach. */
export function slimComputeJson(
  full: JsonNs,
  methods: Readonly<Record<string, readonly string[]>> = USED_METHODS,
): JsonNs {
  const path = PKG.split('.');
  let v1: JsonNs | undefined = full;
  for (const p of path) v1 = v1?.nested?.[p];
  const all = v1?.nested;
  if (!v1 || !all) throw new Error(`@google-cloud/compute protos: no ${PKG} namespace`);
  const kept: Record<string, JsonNs> = {};
  const visit = (name: string): void => {
    // Compute refers to its types by short name ("Route") or fully qualified; the first segment is the
    // top-level entity (nested enums/messages travel with their parent).
    const local = name.replace(/^\./, '').replace(`${PKG}.`, '');
    const top = local.split('.')[0] as string;
    const entity = all[top];
    if (!entity || kept[top]) return;
    kept[top] = entity;
    walkTypes(entity, visit);
  };
  for (const [svc, names] of Object.entries(methods)) {
    const s = all[svc];
    if (!s?.methods) throw new Error(`@google-cloud/compute protos: no service ${svc}`);
    const m: NonNullable<JsonNs['methods']> = {};
    for (const n of names) {
      const def = s.methods[n];
      if (!def) throw new Error(`@google-cloud/compute protos: no method ${svc}.${n}`);
      m[n] = def;
      visit(def.requestType);
      visit(def.responseType);
    }
    kept[svc] = { ...s, methods: m };
  }
  // Rebuild the spine from the root down, sharing the small sibling namespaces (google.api, google.protobuf,
  // the operation annotations) with `full`; Compute's other versions (v1beta, v1small) are dropped.
  const rebuild = (ns: JsonNs, depth: number): JsonNs => {
    if (depth === path.length) return { ...ns, nested: kept };
    const key = path[depth] as string;
    const child = rebuild((ns.nested as Record<string, JsonNs>)[key] as JsonNs, depth + 1);
    return { ...ns, nested: depth === path.length - 1 ? { [key]: child } : { ...ns.nested, [key]: child } };
  };
  return rebuild(full, 0);
}

function walkTypes(e: JsonNs, visit: (name: string) => void): void {
  for (const f of Object.values(e.fields ?? {})) {
    visit(f.type);
    if (f.keyType) visit(f.keyType);
  }
  for (const n of Object.values(e.nested ?? {})) walkTypes(n, visit);
}

interface GaxModule {
  fallback: {
    GrpcClient: new (opts?: unknown) => { loadProtoJSON(json: unknown, ignoreCache?: boolean): unknown };
  } & Record<string, unknown>;
  protobuf: { Root: { fromJSON(json: unknown): unknown } };
  [k: string]: unknown;
}

let slimGax: GaxModule | undefined;

/** The gaxInstance to give each Compute client (REST fallback). */
export function slimGaxInstance(): GaxModule {
  if (slimGax) return slimGax;
  const gax = require('google-gax') as GaxModule;
  let root: unknown;
  const Base = gax.fallback.GrpcClient;
  class SlimGrpcClient extends Base {
    // The clients pass the package's full protos.json; every client shares one Root of the slim subset.
    override loadProtoJSON(json: unknown): unknown {
      return (root ??= gax.protobuf.Root.fromJSON(slimComputeJson(json as JsonNs)));
    }
  }
  // Spread evaluates the CJS getters: the clients read PageDescriptor, createApiCall etc. from here.
  slimGax = { ...gax, fallback: { ...gax.fallback, GrpcClient: SlimGrpcClient } };
  return slimGax;
}

export interface ComputeClientClasses {
  RoutesClient: typeof RoutesClient;
  GlobalOperationsClient: typeof GlobalOperationsClient;
  InstancesClient: typeof InstancesClient;
  ProjectsClient: typeof ProjectsClient;
  NetworksClient: typeof NetworksClient;
}

let classes: ComputeClientClasses | undefined;

/**
 * The five client classes, loaded on first use. Each client module requires the full protos.json at load
 * and keeps it for the life of the process (~7 MB of heap for types we never touch), and builds a Root
 * from it again on every error that carries statusDetails. Unless something loaded it already, the require
 * cache is seeded first with the slim set, so the full set is parsed once here and left to the collector.
 */
export function computeClientClasses(): ComputeClientClasses {
  if (classes) return classes;
  const v1 = dirname(require.resolve('@google-cloud/compute/build/src/v1/routes_client.js'));
  const protos = join(v1, '..', '..', 'protos', 'protos.json');
  if (!require.cache[protos]) {
    const m = new Module(protos);
    m.filename = protos;
    m.exports = slimComputeJson(JSON.parse(readFileSync(protos, 'utf8')) as JsonNs);
    m.loaded = true;
    require.cache[protos] = m;
  }
  classes = {
    RoutesClient: (require(join(v1, 'routes_client.js')) as { RoutesClient: typeof RoutesClient }).RoutesClient,
    GlobalOperationsClient: (
      require(join(v1, 'global_operations_client.js')) as { GlobalOperationsClient: typeof GlobalOperationsClient }
    ).GlobalOperationsClient,
    InstancesClient: (require(join(v1, 'instances_client.js')) as { InstancesClient: typeof InstancesClient })
      .InstancesClient,
    ProjectsClient: (require(join(v1, 'projects_client.js')) as { ProjectsClient: typeof ProjectsClient })
      .ProjectsClient,
    NetworksClient: (require(join(v1, 'networks_client.js')) as { NetworksClient: typeof NetworksClient })
      .NetworksClient,
  };
  return classes;
}
