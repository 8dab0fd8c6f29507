// Prometheus metrics of one routesync process. The registry is injectable and a fresh one is made per
// instance so tests (and several controllers in one process) never collide on global metric names.
// `provider` is a default label, so it is on every series, including the process metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiObserver, ProviderErrorKind } from '../providers/types.ts';
import { ROUTE_STATES } from './plan-types.ts';

export type RouteStateLabel = (typeof ROUTE_STATES)[number];

// Instance states always exported (as 0 when absent) so dashboards and alerts see a series, not a gap.
const INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'terminated'] as const;
// Kinds of per-pass findings logged once when they start and once when they end (src/recurring.ts).
export const WARNING_KINDS = ['conflict', 'held', 'safety-valve', 'cannot-forward'] as const;

// Cloud calls range from ~10 ms (emulator, cached reads) to tens of seconds (throttled, waiting on tasks).
const API_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
// A pass over 1000 VMs with Aliyun's one-task-per-table can take minutes.
const PASS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface RoutesyncMetricsOptions {
  provider: string;
  registry?: Registry;
  /** Process metrics (CPU, memory, event loop). Default true. */
  defaultMetrics?: boolean;
}

function check(field: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`metrics: ${field} must be a finite number >= 0, got ${v}`);
  return v;
}

export class RoutesyncMetrics {
  readonly registry: Registry;
  readonly apiObserver: ApiObserver;

  private readonly tableEntries: Gauge<'table'>;
  private readonly tableLimit: Gauge<'table'>;
  private readonly tableRatio: Gauge<'table'>;
  private readonly tableForecast: Gauge<'table'>;
  private readonly routes: Gauge<'table' | 'state'>;
  private readonly poolSize: Gauge;
  private readonly poolAllocated: Gauge;
  private readonly poolFree: Gauge;
  private readonly instances: Gauge<'state'>;
  private readonly apiRequests: Counter<'action' | 'outcome'>;
  private readonly apiDuration: Histogram<'action'>;
  private readonly apiRetries: Counter<'action' | 'kind'>;
  private readonly passDuration: Histogram;
  private readonly passes: Counter<'result'>;
  private readonly lastSuccess: Gauge;
  private readonly leader: Gauge;
  private readonly safetyValve: Gauge;
  private readonly changes: Counter<'op' | 'outcome'>;
  private readonly warningsActive: Gauge<'kind'>;
  private readonly warningsRepeated: Counter<'kind'>;

  constructor(opts: RoutesyncMetricsOptions) {
    if (typeof opts.provider !== 'string' || opts.provider === '')
      throw new RangeError('metrics: provider must be a non-empty string');
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    this.registry.setDefaultLabels({ provider: opts.provider });
    // Unprefixed on purpose: process_* / nodejs_* are the names every standard dashboard expects.
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers });
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });

    this.tableEntries = gauge(
      'routesync_route_table_entries',
      'Entries in the route table (all routes, ours and foreign), as counted against its quota.',
      ['table'],
    );
    this.tableLimit = gauge(
      'routesync_route_table_quota_limit',
      'Route entry quota of the table (per project on GCE).',
      ['table'],
    );
    this.tableRatio = gauge(
      'routesync_route_table_usage_ratio',
      'routesync_route_table_entries / routesync_route_table_quota_limit.',
      ['table'],
    );
    this.tableForecast = gauge(
      'routesync_route_table_quota_forecast_days',
      'Days until the table reaches its quota at its steepest recent growth rate (last 10m, 1h, 1d or 7d); 0 when full; absent when not growing.',
      ['table'],
    );
    this.routes = gauge('routesync_routes', 'Desired and found routes by reconcile state.', ['table', 'state']);
    this.poolSize = gauge('routesync_subnet_pool_size', 'Subnets the cluster CIDR holds (minus reserved ranges).');
    this.poolAllocated = gauge(
      'routesync_subnet_pool_allocated',
      'Subnets allocated to VMs (including ones waiting for release).',
    );
    this.poolFree = gauge('routesync_subnet_pool_free', 'Subnets that can be handed out now (excludes cool-down).');
    this.instances = gauge('routesync_instances', 'Cluster VMs by lifecycle state.', ['state']);
    this.apiRequests = counter('routesync_cloud_api_requests_total', 'Cloud API calls by action and outcome.', [
      'action',
      'outcome',
    ]);
    this.apiDuration = new Histogram({
      name: 'routesync_cloud_api_request_duration_seconds',
      help: 'Cloud API call latency.',
      labelNames: ['action'],
      buckets: API_BUCKETS,
      registers,
    });
    this.apiRetries = counter('routesync_cloud_api_retries_total', 'Cloud API calls retried, by error kind.', [
      'action',
      'kind',
    ]);
    this.passDuration = new Histogram({
      name: 'routesync_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass.',
      buckets: PASS_BUCKETS,
      registers,
    });
    this.passes = counter('routesync_reconcile_passes_total', 'Reconcile passes by result.', ['result']);
    this.lastSuccess = gauge(
      'routesync_last_successful_reconcile_timestamp_seconds',
      'Unix time of the end of the last successful reconcile pass.',
    );
    this.leader = gauge('routesync_leader', '1 while this process holds the leadership.');
    this.safetyValve = gauge(
      'routesync_safety_valve_held',
      '1 while deletions are held because a read looked suspicious.',
    );
    this.changes = counter('routesync_route_changes_total', 'Route changes attempted, by operation and outcome.', [
      'op',
      'outcome',
    ]);

    this.warningsActive = gauge(
      'routesync_warnings_active',
      'Findings that were warned about once and still hold (conflicts, held changes, the safety valve), by kind.',
      ['kind'],
    );
    this.warningsRepeated = counter(
      'routesync_warnings_repeated_total',
      'Passes that found again a finding already warned about (not logged again), by kind.',
      ['kind'],
    );

    // Zero-initialised so rate() and alerts work from the first scrape instead of after the first event.
    for (const s of INSTANCE_STATES) this.instances.set({ state: s }, 0);
    for (const r of ['ok', 'error']) this.passes.inc({ result: r }, 0);
    this.leader.set(0);
    this.safetyValve.set(0);
    for (const k of WARNING_KINDS) {
      this.warningsActive.set({ kind: k }, 0);
      this.warningsRepeated.inc({ kind: k }, 0);
    }

    const requests = this.apiRequests;
    const duration = this.apiDuration;
    const retries = this.apiRetries;
    this.apiObserver = {
      request(action: string, outcome: string, seconds: number) {
        requests.inc({ action, outcome });
        if (Number.isFinite(seconds) && seconds >= 0) duration.observe({ action }, seconds);
      },
      retry(action: string, kind: ProviderErrorKind) {
        retries.inc({ action, kind });
      },
    };
  }

  setTableQuota(table: string, used: number, limit: number): void {
    check('used', used);
    check('limit', limit);
    this.tableEntries.set({ table }, used);
    this.tableLimit.set({ table }, limit);
    // A zero limit means no room at all: report it as full rather than a division by zero.
    this.tableRatio.set({ table }, limit > 0 ? used / limit : 1);
  }

  /** Days until the quota is reached (see forecastDaysToQuota); null removes the series (not growing). */
  setTableForecastDays(table: string, days: number | null): void {
    if (days === null) {
      this.tableForecast.remove({ table });
      return;
    }
    this.tableForecast.set({ table }, check('days', days));
  }

  setRouteStates(table: string, counts: Partial<Record<RouteStateLabel, number>>): void {
    for (const state of ROUTE_STATES) this.routes.set({ table, state }, check(`counts.${state}`, counts[state] ?? 0));
  }

  /** Drops every per-table series of a table that is no longer configured or discovered. */
  forgetTable(table: string): void {
    for (const g of [this.tableEntries, this.tableLimit, this.tableRatio, this.tableForecast]) g.remove({ table });
    for (const state of ROUTE_STATES) this.routes.remove({ table, state });
  }

  setPool(size: number, allocated: number, free: number): void {
    this.poolSize.set(check('size', size));
    this.poolAllocated.set(check('allocated', allocated));
    this.poolFree.set(check('free', free));
  }

  setInstances(byState: Record<string, number>): void {
    // States not reported this pass drop to 0 rather than keeping last pass's count.
    this.instances.reset();
    for (const s of INSTANCE_STATES) this.instances.set({ state: s }, 0);
    for (const [state, n] of Object.entries(byState)) this.instances.set({ state }, check(`byState.${state}`, n));
  }

  observePass(seconds: number, ok: boolean, at: number): void {
    this.passDuration.observe(check('seconds', seconds));
    this.passes.inc({ result: ok ? 'ok' : 'error' });
    if (ok) this.lastSuccess.set(check('at', at) / 1000);
  }

  setLeader(isLeader: boolean): void {
    this.leader.set(isLeader ? 1 : 0);
  }

  setSafetyValve(held: boolean): void {
    this.safetyValve.set(held ? 1 : 0);
  }

  changeApplied(op: 'create' | 'replace' | 'delete', outcome: string): void {
    this.changes.inc({ op, outcome });
  }

  /** Active findings by kind; a kind absent from `byKind` is 0. */
  setWarningsActive(byKind: ReadonlyMap<string, number>): void {
    for (const k of new Set<string>([...WARNING_KINDS, ...byKind.keys()]))
      this.warningsActive.set({ kind: k }, check(`warnings.${k}`, byKind.get(k) ?? 0));
  }

  warningRepeated(kind: string): void {
    this.warningsRepeated.inc({ kind });
  }

  /** Every metric name this registry exposes (histograms/counters as declared, without sample suffixes). */
  async metricNames(): Promise<string[]> {
    const all = await this.registry.getMetricsAsJSON();
    return all.map((m) => m.name);
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }
}
