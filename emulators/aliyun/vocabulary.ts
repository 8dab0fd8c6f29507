// The Aliyun emulator's names for its calls and answers (emulators/shared/vocabulary.ts).
import type { EmulatorVocabulary } from '../shared/vocabulary.ts';

const ROUTE_WRITES = [
  'CreateRouteEntry',
  'CreateRouteEntries',
  'DeleteRouteEntry',
  'DeleteRouteEntries',
  'ModifyRouteEntry',
] as const;

export const VOCABULARY: EmulatorVocabulary = {
  listings: ['DescribeInstances', 'DescribeRouteEntryList'],
  inventoryRead: /^DescribeInstances$/,
  inventoryListing: 'DescribeInstances',
  denied: 'Forbidden.RAM',
  // TotalCount makes a short listing a failed read on Aliyun.
  goodRead: /^(ok|hostile:page-overlap)$/,
  writes: ROUTE_WRITES,
  routeWrites: ROUTE_WRITES,
  destructive: /^(DeleteRouteEntr(y|ies)|ModifyRouteEntry)$/,
  quotaError: /^QuotaExceeded/,
  systemRoute: (r) => r.nextHop === 'local' || r.nextHop === 'service',
  quotaScope: 'table',
  foreignHop: 'ngw-chaos00000000000001',
};
