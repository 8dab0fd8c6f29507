// The GCE emulator's names for its calls and answers (emulators/shared/vocabulary.ts).
import type { EmulatorVocabulary } from '../shared/vocabulary.ts';

const ROUTE_WRITES = ['routes.insert', 'routes.delete'] as const;

export const VOCABULARY: EmulatorVocabulary = {
  listings: ['instances.aggregatedList', 'routes.list'],
  inventoryRead: /^instances\.(list|aggregatedList)$/,
  inventoryListing: 'instances.aggregatedList',
  denied: '400',
  goodRead: /^(ok|hostile:page-overlap|hostile:page-short)$/,
  writes: ROUTE_WRITES,
  routeWrites: ROUTE_WRITES,
  destructive: /^routes\.delete$/,
  quotaError: /^(quotaExceeded|QUOTA_EXCEEDED)$/,
  systemRoute: (r) =>
    r.nextHop === 'local' || (r.destination === '0.0.0.0/0' && r.nextHop === 'default-internet-gateway'),
  // One quota for the project's routes, all networks together.
  quotaScope: 'project',
  foreignHop: '10.128.0.250',
};
