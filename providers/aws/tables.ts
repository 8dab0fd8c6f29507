// AWS route tables: the configured ones (checked to be in the VPC) or the VPC's tables in use, their routes
// (every page), and the per-table route quota (providers/aws/quota.ts).
import { DescribeRouteTablesCommand, type Filter, type RouteTable as Ec2Table } from '@aws-sdk/client-ec2';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { collectPages } from '../../src/lib/paging.ts';
import { ProviderError, type Quota, type Route, type RouteTable } from '../types.ts';
import type { AwsSession } from './session.ts';
import { malformed } from './errors.ts';
import { learnRouteEnis } from './eni-lookups.ts';
import { checkTables, isInUse, toRoute } from './parse.ts';
import { prefixListSlots, readRouteQuota, usedSlots } from './quota.ts';

export { AWS_DEFAULT_ROUTE_QUOTA, ROUTES_QUOTA_CODE } from './quota.ts';

export function awsTables(s: AwsSession, sq: ServiceQuotasClient) {
  const { config, log, ec2, call, pageSize, maxPages } = s;
  const vpcId = config.vpcId;

  async function describeTables(
    signal: AbortSignal | undefined,
    input: { RouteTableIds?: string[]; Filters?: Filter[] },
  ) {
    const all: Ec2Table[] = [];
    const paged = input.RouteTableIds === undefined;
    const size = Math.min(100, Math.max(5, pageSize));
    await collectPages(
      async (token) => {
        const out = await call('DescribeRouteTables', signal, () =>
          ec2.send(
            new DescribeRouteTablesCommand({
              ...input,
              ...(paged ? { MaxResults: size } : {}),
              ...(token ? { NextToken: token } : {}),
            }),
            { abortSignal: signal },
          ),
        );
        return {
          items: checkTables(out.RouteTables, 'DescribeRouteTables', out.$metadata.requestId),
          next: out.NextToken,
        };
      },
      (t) => all.push(t),
      {
        pageSize: size,
        key: (t) => t.RouteTableId as string,
        maxPages,
        fail: (why) => malformed('DescribeRouteTables', why),
        signal,
      },
    );
    return all;
  }

  async function listRoutes(table: RouteTable, signal?: AbortSignal): Promise<Route[]> {
    const tables = await describeTables(signal, { RouteTableIds: [table.id] });
    const t = tables.find((x) => x.RouteTableId === table.id);
    if (!t || tables.length !== 1)
      throw malformed(
        'DescribeRouteTables',
        `asked for ${table.id}, got ${tables.map((x) => x.RouteTableId).join(',') || 'nothing'}`,
      );
    const raws = t.Routes ?? [];
    await learnRouteEnis(s, raws, signal);
    const slots = await prefixListSlots(s, raws, signal);
    // A destination is unique within an EC2 table, so it is the route's identity: the same route listed twice
    // is one route, two different routes for one destination are a broken answer.
    const byDest = new Map<string, Route>();
    for (const raw of raws) {
      const r = toRoute(table.id, raw, undefined, { enis: s.enis, prefixListSlots: slots });
      const seen = byDest.get(r.destination);
      if (seen && (seen.nextHop !== r.nextHop || seen.state !== r.state))
        throw malformed(
          'DescribeRouteTables',
          `route table ${table.id} lists ${r.destination} twice, to ${seen.nextHop} and ${r.nextHop}`,
        );
      byDest.set(r.destination, seen ?? r);
    }
    const routes = [...byDest.values()];
    // Every VPC route table carries its local route: a table without one is a broken answer, not an empty table.
    if (!routes.some((r) => r.nextHop === 'local'))
      throw malformed('DescribeRouteTables', `route table ${table.id} has no local route`);
    return routes;
  }

  async function findRoute(tableId: string, destination: string, signal: AbortSignal): Promise<Route | undefined> {
    const routes = await listRoutes({ id: tableId }, signal);
    return routes.find((r) => r.destination === destination);
  }

  async function quota(table: RouteTable, signal?: AbortSignal, listed?: readonly Route[]): Promise<Quota> {
    const routes = listed ?? (await listRoutes(table, signal));
    const used = usedSlots(routes);
    const q = await readRouteQuota(sq, (action, fn) => call(action, signal, fn), log, config.routeQuota, signal);
    return { limit: q.limit, used, source: q.source, scope: 'table' };
  }

  async function routeTables(signal?: AbortSignal): Promise<RouteTable[]> {
    if (config.routeTableIds && config.routeTableIds.length > 0) {
      const ids = config.routeTableIds;
      const tables = await describeTables(signal, { RouteTableIds: ids });
      return ids.map((id) => {
        const t = tables.find((x) => x.RouteTableId === id);
        if (!t) throw malformed('DescribeRouteTables', `configured table ${id} missing from the answer`);
        if (t.VpcId !== vpcId) {
          throw new ProviderError(
            'invalid',
            'WrongVpc',
            `provider.routeTableIds: ${id} belongs to ${String(t.VpcId)}, not provider.vpcId ${vpcId}`,
            {
              action: 'DescribeRouteTables',
            },
          );
        }
        return { id, vpcId };
      });
    }
    const tables = (await describeTables(signal, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })).filter(isInUse);
    // Every VPC has a main table: finding none means the VPC id is wrong, not that there is nothing to do.
    if (tables.length === 0)
      throw new ProviderError('notFound', 'NoRouteTables', `no route tables in vpc ${vpcId} (check provider.vpcId)`, {
        action: 'DescribeRouteTables',
      });
    return tables.map((t) => ({ id: t.RouteTableId as string, vpcId }));
  }

  return { routeTables, listRoutes, findRoute, quota };
}
