// The response fields the provider relies on, checked before use: a body missing them is a malformed
// answer (ProviderError 'invalid'), never an empty result.
import { z } from 'zod';

/**
 * A copy of a wire string that does not keep its response body alive. pop-core parses with json-bigint,
 * whose strings are `substring`s of the whole body: V8 makes those slices that pin the body (tens of kB per
 * page), so one id kept from each page of a 5,000-VM listing would hold every page. Concatenating flattens
 * into a fresh string only as long as the value; under 13 characters V8 copies anyway.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

const str = z.string().transform(detach);
const optStr = str.optional();

export const RequestOnly = z.object({ RequestId: str });

export const DescribeInstances = z.object({
  RequestId: str,
  NextToken: optStr,
  TotalCount: z.number().optional(),
  Instances: z.object({
    Instance: z.array(
      z.object({
        InstanceId: str,
        InstanceName: str.default(''),
        Status: str,
        ZoneId: str,
        VpcAttributes: z.object({ PrivateIpAddress: z.object({ IpAddress: z.array(str) }) }),
      }),
    ),
  }),
});

export type InstanceWire = z.infer<typeof DescribeInstances>['Instances']['Instance'][number];

export const DescribeRouteTableList = z.object({
  RequestId: str,
  TotalCount: z.number(),
  PageNumber: z.number(),
  PageSize: z.number(),
  RouterTableList: z.object({
    RouterTableListType: z.array(
      z.object({ RouteTableId: str, RouteTableName: optStr, RouteTableType: optStr, VpcId: optStr }),
    ),
  }),
});

export const RouteEntry = z.object({
  RouteEntryId: str,
  RouteEntryName: str.default(''),
  Description: str.default(''),
  DestinationCidrBlock: str,
  Type: str,
  Status: str,
  NextHops: z.object({
    NextHop: z.array(z.object({ NextHopType: str, NextHopId: str.default(''), Enabled: z.number().optional() })),
  }),
});
export type RouteEntryWire = z.infer<typeof RouteEntry>;

export const DescribeRouteEntryList = z.object({
  RequestId: str,
  NextToken: optStr,
  RouteEntrys: z.object({ RouteEntry: z.array(RouteEntry) }),
});

const FailedEntry = z.object({
  DstCidrBlock: str.default(''),
  NextHop: str.default(''),
  FailedCode: str,
  FailedMessage: str.default(''),
});
export type FailedEntryWire = z.infer<typeof FailedEntry>;

export const CreateRouteEntries = z.object({
  RequestId: str,
  SuccessCount: z.number(),
  FailedCount: z.number(),
  FailedRouteEntries: z.array(FailedEntry).default([]),
  RouteEntryIds: z.array(str).default([]),
});

export const DeleteRouteEntries = z.object({
  RequestId: str,
  SuccessCount: z.number(),
  FailedCount: z.number(),
  FailedRouteEntries: z.array(FailedEntry).default([]),
});

export const GetProductQuota = z.object({
  RequestId: str,
  Quota: z.object({ QuotaActionCode: str, TotalQuota: z.number(), TotalUsage: z.number().optional() }),
});
