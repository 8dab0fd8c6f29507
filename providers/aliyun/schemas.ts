// The response fields the provider relies on, checked before use: a body missing them is a malformed
// answer (ProviderError 'invalid'), never an empty result.
import { z } from 'zod';

const str = z.string();
const optStr = z.string().optional();

export const RequestOnly = z.object({ RequestId: str });

export const DescribeInstances = z.object({
  RequestId: str,
  NextToken: optStr,
  TotalCount: z.number().optional(),
  Instances: z.object({
    Instance: z.array(
      z.object({
        InstanceId: str,
        InstanceName: z.string().default(''),
        Status: str,
        ZoneId: str,
        VpcAttributes: z.object({ PrivateIpAddress: z.object({ IpAddress: z.array(str) }) }),
      }),
    ),
  }),
});

export const DescribeRouteTableList = z.object({
  RequestId: str,
  TotalCount: z.number(),
  PageNumber: z.number(),
  PageSize: z.number(),
  RouterTableList: z.object({
    RouterTableListType: z.array(z.object({ RouteTableId: str, RouteTableName: optStr, RouteTableType: optStr, VpcId: optStr })),
  }),
});

export const RouteEntry = z.object({
  RouteEntryId: str,
  RouteEntryName: z.string().default(''),
  Description: z.string().default(''),
  DestinationCidrBlock: str,
  Type: str,
  Status: str,
  NextHops: z.object({
    NextHop: z.array(z.object({ NextHopType: str, NextHopId: z.string().default(''), Enabled: z.number().optional() })),
  }),
});
export type RouteEntryWire = z.infer<typeof RouteEntry>;

export const DescribeRouteEntryList = z.object({
  RequestId: str,
  NextToken: optStr,
  RouteEntrys: z.object({ RouteEntry: z.array(RouteEntry) }),
});

const FailedEntry = z.object({ DstCidrBlock: z.string().default(''), NextHop: z.string().default(''), FailedCode: str, FailedMessage: z.string().default('') });
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
