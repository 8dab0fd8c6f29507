// GCE adapter on @google-cloud/compute: the "route table" is a VPC network, routes are project-wide and
// immutable resources addressed by name, every write is an operation to wait on, and the ROUTES quota is
// per project (shared by every network). The parts: session.ts (what they share), inventory.ts, routes.ts,
// writes.ts, apply.ts; wire.ts (what an answer must look like).
import type { CloudAdapter, ProviderContext } from '../types.ts';
import { applyGce } from './apply.ts';
import type { GceConfig } from './config.ts';
import { formerGceId } from './instance-id.ts';
import { gceListing, gceLookup } from './inventory.ts';
import { gceQuota, gceRoutes } from './routes.ts';
import { openGceSession, type GceInternalOptions } from './session.ts';
import { gceOperations, gceWrites } from './writes.ts';

export { RATE_PER_MINUTE, type GceInternalOptions } from './session.ts';
export { DEFAULT_ROUTE_QUOTA } from './wire.ts';

export function createGceProvider(
  config: GceConfig,
  ctx: ProviderContext,
  internal: GceInternalOptions = {},
): CloudAdapter {
  const s = openGceSession(config, ctx, internal);
  const listing = gceListing(s);
  const lookup = gceLookup(s, listing);
  const { routeTables, listRoutes } = gceRoutes(s);
  const { quota } = gceQuota(s);
  const writes = gceWrites(s, { instanceLink: lookup.instanceLink, ...gceOperations(s) });
  return {
    kind: 'gce',
    listInstances: listing.listInstances,
    lookupInstances: lookup.lookupInstances,
    formerId: formerGceId,
    routeTables,
    listRoutes,
    quota,
    apply: (table, changes, opts) => applyGce(s, { ...writes, quota }, table, changes, opts),
    preflight: async () => s.sdk().checkAuth(),
    close: () => s.close(),
  };
}
