// AWS adapter on the official SDK (@aws-sdk/client-ec2, client-service-quotas). The SDK's own retries are
// off (maxAttempts 1) so the shared retry policy (providers/retry.ts) alone decides; writes run in bounded
// parallel; a wrong target is fixed with ReplaceRoute (no window without a route). Routes go to the
// instance's primary ENI by NetworkInterfaceId (providers/aws/enis.ts).
import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { NOOP_OBSERVER, type CloudAdapter, type ProviderContext } from '../types.ts';
import { resolveRetryPolicy, retrying, scaleRetryPolicy, timeScaleOf, type RetryPolicy } from '../retry.ts';
import { DEFAULT_MAX_PAGES } from '../../src/lib/paging.ts';
import type { AwsConfig } from './config.ts';
import { awsApply } from './apply.ts';
import type { AwsSession, WriteFence } from './session.ts';
import { awsInventory } from './inventory.ts';
import { EniDirectory } from './enis.ts';
import { awsTables } from './tables.ts';
import { awsCredentials, checkAwsCredentials } from './credentials.ts';
import { mapAwsError } from './errors.ts';
import { onTheWire } from '../wire-fence.ts';
import { EC2_MUTATING_LIMIT, paced, WritePacer, type PaceOutcome, type PaceTicket } from './pacing.ts';

export { AWS_DEFAULT_ROUTE_QUOTA } from './tables.ts';

/** Knobs tests turn; production uses the defaults. */
export interface AwsInternalOptions {
  /** Wins over ProviderContext.retry. */
  retry?: Partial<RetryPolicy>;
  /** DescribeInstances / DescribeRouteTables page size. */
  pageSize?: number;
  /** Page budget of a listing (EC2 reports no totals; default: src/lib/paging.ts DEFAULT_MAX_PAGES). */
  maxPages?: number;
  requestTimeoutMs?: number;
}

export function createAwsProvider(
  config: AwsConfig,
  ctx: ProviderContext,
  internal: AwsInternalOptions = {},
): CloudAdapter {
  const region = config.region;
  const log = ctx.logger.child({ provider: 'aws' });
  const observer = ctx.observer ?? NOOP_OBSERVER;
  const policy = scaleRetryPolicy(resolveRetryPolicy(ctx.retry, internal.retry), timeScaleOf(ctx));
  // Pages of 100 keep each DescribeInstances answer small and cheap against the 100-token describe bucket.
  const pageSize = internal.pageSize ?? 100;
  const maxPages = internal.maxPages ?? DEFAULT_MAX_PAGES;
  const credentials = awsCredentials(config.endpoint);
  const common = {
    region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: internal.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
  const ec2 = new EC2Client(common);
  const sq = new ServiceQuotasClient(common);
  const cacheScope = config.endpoint ?? region;
  const timeScale = timeScaleOf(ctx);

  // EC2 meters each mutating action with its own bucket per account: one client bucket per action, shared by
  // every apply of this provider, keeps parallel lanes (and parallel tables) inside it from the first call.
  const writeLimit = config.aws?.writeRateLimit ?? EC2_MUTATING_LIMIT;
  const pacers = new Map<string, WritePacer>();
  const pacerFor = (action: string): WritePacer => {
    let p = pacers.get(action);
    if (!p) {
      p = new WritePacer({ now: () => performance.now() * timeScale, limit: writeLimit });
      pacers.set(action, p);
    }
    return p;
  };

  /**
   * One SDK call with observation, error mapping and bounded retries of retryable kinds. Writes wait for a
   * token of their action's pacer before each attempt; `before` (the fence) then runs before every attempt,
   * retries included, after the backoff and the pacing wait: a process paused past its lease wakes up into
   * its retry timers, and each of them must find out before it sends (I4).
   */
  async function call<T>(
    action: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    write?: WriteFence,
  ): Promise<T> {
    const pacer = write ? pacerFor(action) : undefined;
    return retrying(
      action,
      async () => {
        let ticket: PaceTicket | undefined;
        if (pacer) {
          ticket = await paced(pacer, timeScale, signal);
          if (write?.before) await write.before();
        }
        const done = (outcome: PaceOutcome) => {
          if (pacer && ticket !== undefined) pacer.release(ticket, outcome);
        };
        const t0 = performance.now();
        try {
          const out = await (write ? onTheWire(write.now, fn) : fn());
          done('ok');
          observer.request(action, 'ok', (performance.now() - t0) / 1000);
          return out;
        } catch (e) {
          if (signal?.aborted) throw signal.reason;
          const pe = mapAwsError(e, action);
          done(pe.kind === 'throttled' ? 'throttled' : 'error');
          observer.request(action, pe.code, (performance.now() - t0) / 1000);
          throw pe;
        }
      },
      { policy, observer, signal, logger: log },
    );
  }

  const enis = new EniDirectory();
  const session: AwsSession = { config, log, ec2, call, pageSize, maxPages, cacheScope, enis };
  const { routeTables, listRoutes, findRoute, quota } = awsTables(session, sq);
  const { listInstances, lookupInstances } = awsInventory(session);
  const apply = awsApply(session, { quota, findRoute });
  return {
    kind: 'aws',
    listInstances,
    lookupInstances,

    routeTables,

    listRoutes,

    quota,

    apply,

    preflight: () => checkAwsCredentials(() => ec2.config.credentials()),

    async close() {
      ec2.destroy();
      sq.destroy();
    },
  };
}
