// "Routes per route table" (Service Quotas L-93826ACB) and what counts against it. The value: the account's
// applied one (GetServiceQuota); Service Quotas answers NoSuchResourceException when the account never had
// one applied, and then the AWS default (GetAWSDefaultServiceQuota) is the value in force (aws/aws-cli#6629,
// hashicorp/terraform-provider-aws#10929); without either, `provider.routeQuota`, else the documented
// default. The use: IPv4 routes only (IPv6 routes are counted apart), not the local route, not propagated
// routes (their own quota of 100), and a route to a prefix list as the list's max entries (VPC quotas page).
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  type ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { DescribeManagedPrefixListsCommand, type Route as Ec2Route } from '@aws-sdk/client-ec2';
import type { Logger } from 'pino';
import { ProviderError, type Quota, type Route } from '../types.ts';
import type { AwsSession } from './session.ts';

/**
 * The documented default of "Routes per route table" (Amazon VPC quotas page: 50, adjustable up to 1,000),
 * used only when neither Service Quotas call answers and `provider.routeQuota` is unset. A June 2025
 * third-party report says new defaults are 500; AWS's own page as we could read it says 50 (README,
 * "Behaviour on real accounts"). The lower figure can under-serve, never overrun: set routeQuota to lift it.
 */
export const AWS_DEFAULT_ROUTE_QUOTA = 50;
export const ROUTES_QUOTA_CODE = 'L-93826ACB';

type Call = <T>(action: string, fn: () => Promise<T>) => Promise<T>;

export interface QuotaValue {
  limit: number;
  source: Quota['source'];
}

function quotaValue(out: { Quota?: { Value?: number } }): number | undefined {
  const v = out.Quota?.Value;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined;
}

export async function readRouteQuota(
  sq: ServiceQuotasClient,
  call: Call,
  log: Logger,
  configured: number | undefined,
  signal: AbortSignal | undefined,
): Promise<QuotaValue> {
  const input = { ServiceCode: 'vpc', QuotaCode: ROUTES_QUOTA_CODE };
  const fallback = (): QuotaValue =>
    configured !== undefined
      ? { limit: configured, source: 'config' }
      : { limit: AWS_DEFAULT_ROUTE_QUOTA, source: 'default' };
  const failed = (e: unknown, action: string): QuotaValue => {
    if (signal?.aborted) throw signal.reason;
    // No servicequotas permission is common; the configured or documented value stands in.
    log.warn(
      { action, code: e instanceof ProviderError ? e.code : String(e) },
      'Service Quotas lookup failed; using the configured or default route quota',
    );
    return fallback();
  };
  try {
    const out = await call('GetServiceQuota', () =>
      sq.send(new GetServiceQuotaCommand(input), { abortSignal: signal }),
    );
    const v = quotaValue(out);
    if (v !== undefined) return { limit: v, source: 'api' };
    log.warn(
      { requestId: out.$metadata.requestId },
      'Service Quotas answered without a value for Routes per route table',
    );
    return fallback();
  } catch (e) {
    if (!(e instanceof ProviderError && e.code === 'NoSuchResourceException')) return failed(e, 'GetServiceQuota');
  }
  // No applied value on the account: the AWS default is the one in force.
  try {
    const out = await call('GetAWSDefaultServiceQuota', () =>
      sq.send(new GetAWSDefaultServiceQuotaCommand(input), { abortSignal: signal }),
    );
    const v = quotaValue(out);
    if (v !== undefined) return { limit: v, source: 'api-default' };
  } catch (e) {
    return failed(e, 'GetAWSDefaultServiceQuota');
  }
  return fallback();
}

/** Route slots the listed routes take from the IPv4 quota (Route.quotaWeight, 1 when unset; local: 0). */
export function usedSlots(routes: readonly Route[]): number {
  return routes.reduce((n, r) => n + (r.nextHop === 'local' ? 0 : (r.quotaWeight ?? 1)), 0);
}

/**
 * A route to a prefix list takes the list's max entries from the IPv4 quota (0 for an IPv6 list). Without an
 * answer (no ec2:DescribeManagedPrefixLists) it counts as one: a create then fails on RouteLimitExceeded,
 * which stops creates on that table, rather than the table looking full.
 */
export async function prefixListSlots(
  s: AwsSession,
  raws: readonly Ec2Route[],
  signal?: AbortSignal,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const ids = [...new Set(raws.flatMap((r) => r.DestinationPrefixListId ?? []))];
  if (ids.length === 0) return out;
  try {
    const answer = await s.call('DescribeManagedPrefixLists', signal, () =>
      s.ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ids }), { abortSignal: signal }),
    );
    for (const pl of answer.PrefixLists ?? []) {
      if (typeof pl.PrefixListId !== 'string' || typeof pl.MaxEntries !== 'number') continue;
      out.set(pl.PrefixListId, pl.AddressFamily === 'IPv6' ? 0 : pl.MaxEntries);
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (!(e instanceof ProviderError)) throw e;
    s.log.warn(
      { code: e.code, prefixLists: ids },
      'cannot read the prefix lists routed to: each counts as one route against the quota',
    );
  }
  return out;
}
