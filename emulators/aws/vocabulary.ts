// The AWS emulator's names for its calls and answers (emulators/shared/vocabulary.ts).
import type { EmulatorVocabulary } from '../shared/vocabulary.ts';

const ROUTE_WRITES = ['CreateRoute', 'DeleteRoute', 'ReplaceRoute'] as const;

export const VOCABULARY: EmulatorVocabulary = {
  listings: ['DescribeInstances', 'DescribeRouteTables'],
  inventoryRead: /^DescribeInstances$/,
  inventoryListing: 'DescribeInstances',
  denied: 'UnauthorizedOperation',
  goodRead: /^(ok|hostile:page-overlap|hostile:page-short)$/,
  // The source/dest check (ModifyNetworkInterfaceAttribute on the primary ENI; ModifyInstanceAttribute for
  // other clients) is a write of the apply, once per VM, not a route write.
  writes: [...ROUTE_WRITES, 'ModifyNetworkInterfaceAttribute', 'ModifyInstanceAttribute'],
  routeWrites: ROUTE_WRITES,
  destructive: /^(DeleteRoute|ReplaceRoute)$/,
  quotaError: /^RouteLimitExceeded$/,
  systemRoute: (r) => r.nextHop === 'local',
  quotaScope: 'table',
  foreignHop: 'nat-0c4a05f0000000001',
};
