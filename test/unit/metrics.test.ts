import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { RoutesyncMetrics } from '../../src/metrics.ts';
import { ROUTE_STATES } from '../../src/plan-types.ts';
import { parsePromText, sampleValue } from '../helpers/prom-text.ts';

const EXPECTED_TYPES: Record<string, string> = {
  routesync_route_table_entries: 'gauge',
  routesync_route_table_quota_limit: 'gauge',
  routesync_route_table_usage_ratio: 'gauge',
  routesync_routes: 'gauge',
  routesync_subnet_pool_size: 'gauge',
  routesync_subnet_pool_allocated: 'gauge',
  routesync_subnet_pool_free: 'gauge',
  routesync_instances: 'gauge',
  routesync_cloud_api_requests_total: 'counter',
  routesync_cloud_api_request_duration_seconds: 'histogram',
  routesync_cloud_api_retries_total: 'counter',
  routesync_reconcile_duration_seconds: 'histogram',
  routesync_reconcile_passes_total: 'counter',
  routesync_last_successful_reconcile_timestamp_seconds: 'gauge',
  routesync_leader: 'gauge',
  routesync_safety_valve_held: 'gauge',
  routesync_route_changes_total: 'counter',
  routesync_warnings_active: 'gauge',
  routesync_warnings_repeated_total: 'counter',
};

async function scrape(m: RoutesyncMetrics) {
  return parsePromText(await m.registry.metrics());
}

function allStates(v: number) {
  return Object.fromEntries(ROUTE_STATES.map((s) => [s, v])) as Record<(typeof ROUTE_STATES)[number], number>;
}

describe('RoutesyncMetrics', () => {
  it('declares every metric with the expected type', async () => {
    const m = new RoutesyncMetrics({ provider: 'aws' });
    const fams = await scrape(m);
    for (const [name, type] of Object.entries(EXPECTED_TYPES)) {
      expect(fams.get(name)?.type, name).toBe(type);
      expect(fams.get(name)?.help, name).toBeTruthy();
    }
  });

  it('puts the provider label on every series, including process metrics', async () => {
    const m = new RoutesyncMetrics({ provider: 'gce' });
    m.setTableQuota('net-1', 10, 100);
    m.apiObserver.request('routes.insert', 'ok', 0.2);
    const fams = await scrape(m);
    expect(fams.has('process_cpu_user_seconds_total')).toBe(true);
    for (const f of fams.values()) for (const s of f.samples) expect(s.labels.provider, s.name).toBe('gce');
  });

  it('records table quota, ratio and route states', async () => {
    const m = new RoutesyncMetrics({ provider: 'aliyun' });
    m.setTableQuota('vtb-1', 40, 50);
    m.setRouteStates('vtb-1', { ...allStates(0), ok: 38, blocked_quota: 3 });
    const f = await scrape(m);
    expect(sampleValue(f, 'routesync_route_table_entries', { table: 'vtb-1' })).toBe(40);
    expect(sampleValue(f, 'routesync_route_table_quota_limit', { table: 'vtb-1' })).toBe(50);
    expect(sampleValue(f, 'routesync_route_table_usage_ratio', { table: 'vtb-1' })).toBeCloseTo(0.8);
    expect(sampleValue(f, 'routesync_routes', { table: 'vtb-1', state: 'blocked_quota' })).toBe(3);
    expect(sampleValue(f, 'routesync_routes', { table: 'vtb-1', state: 'ok' })).toBe(38);
    // Every state has a series, so an alert on blocked_quota sees 0 rather than nothing.
    expect(
      f
        .get('routesync_routes')!
        .samples.map((s) => s.labels.state)
        .sort(),
    ).toEqual([...ROUTE_STATES].sort());
    m.forgetTable('vtb-1');
    expect((await scrape(m)).get('routesync_routes')!.samples).toHaveLength(0);
  });

  it('counts API requests, durations and retries through the observer', async () => {
    const m = new RoutesyncMetrics({ provider: 'aws' });
    m.apiObserver.request('CreateRoute', 'ok', 0.03);
    m.apiObserver.request('CreateRoute', 'ok', 0.07);
    m.apiObserver.request('CreateRoute', 'throttled', 1.5);
    m.apiObserver.retry('CreateRoute', 'throttled');
    const f = await scrape(m);
    expect(sampleValue(f, 'routesync_cloud_api_requests_total', { action: 'CreateRoute', outcome: 'ok' })).toBe(2);
    expect(sampleValue(f, 'routesync_cloud_api_requests_total', { action: 'CreateRoute', outcome: 'throttled' })).toBe(
      1,
    );
    expect(
      sampleValue(
        f,
        'routesync_cloud_api_request_duration_seconds',
        { action: 'CreateRoute' },
        'routesync_cloud_api_request_duration_seconds_count',
      ),
    ).toBe(3);
    expect(
      sampleValue(
        f,
        'routesync_cloud_api_request_duration_seconds',
        { action: 'CreateRoute' },
        'routesync_cloud_api_request_duration_seconds_sum',
      ),
    ).toBeCloseTo(1.6);
    expect(sampleValue(f, 'routesync_cloud_api_retries_total', { action: 'CreateRoute', kind: 'throttled' })).toBe(1);
  });

  it('records passes, last success, leader, safety valve, pool, instances and changes', async () => {
    const m = new RoutesyncMetrics({ provider: 'aws' });
    let f = await scrape(m);
    expect(sampleValue(f, 'routesync_leader')).toBe(0);
    expect(sampleValue(f, 'routesync_reconcile_passes_total', { result: 'error' })).toBe(0);
    m.observePass(2.5, true, 1_767_225_600_000);
    m.observePass(1, false, 1_767_225_700_000);
    m.setLeader(true);
    m.setSafetyValve(true);
    m.setPool(256, 200, 50);
    m.setInstances({ running: 7, terminated: 1 });
    m.changeApplied('create', 'applied');
    m.changeApplied('delete', 'failed');
    f = await scrape(m);
    expect(sampleValue(f, 'routesync_reconcile_passes_total', { result: 'ok' })).toBe(1);
    expect(sampleValue(f, 'routesync_reconcile_passes_total', { result: 'error' })).toBe(1);
    expect(
      sampleValue(f, 'routesync_reconcile_duration_seconds', {}, 'routesync_reconcile_duration_seconds_count'),
    ).toBe(2);
    // The failed pass must not move the last-success time.
    expect(sampleValue(f, 'routesync_last_successful_reconcile_timestamp_seconds')).toBe(1_767_225_600);
    expect(sampleValue(f, 'routesync_leader')).toBe(1);
    expect(sampleValue(f, 'routesync_safety_valve_held')).toBe(1);
    expect(sampleValue(f, 'routesync_subnet_pool_size')).toBe(256);
    expect(sampleValue(f, 'routesync_subnet_pool_allocated')).toBe(200);
    expect(sampleValue(f, 'routesync_subnet_pool_free')).toBe(50);
    expect(sampleValue(f, 'routesync_instances', { state: 'running' })).toBe(7);
    expect(sampleValue(f, 'routesync_instances', { state: 'stopped' })).toBe(0);
    expect(sampleValue(f, 'routesync_route_changes_total', { op: 'create', outcome: 'applied' })).toBe(1);
    expect(sampleValue(f, 'routesync_route_changes_total', { op: 'delete', outcome: 'failed' })).toBe(1);
    m.setInstances({ stopped: 7 });
    f = await scrape(m);
    expect(sampleValue(f, 'routesync_instances', { state: 'running' })).toBe(0);
  });

  it('uses a fresh registry per instance unless one is injected', async () => {
    const a = new RoutesyncMetrics({ provider: 'aws' });
    const b = new RoutesyncMetrics({ provider: 'aws' });
    a.setLeader(true);
    expect(sampleValue(await scrape(b), 'routesync_leader')).toBe(0);
    const registry = new Registry();
    const c = new RoutesyncMetrics({ provider: 'gce', registry, defaultMetrics: false });
    expect(c.registry).toBe(registry);
    expect((await c.metricNames()).sort()).toEqual(
      Object.keys(EXPECTED_TYPES).concat('routesync_route_table_quota_forecast_days').sort(),
    );
  });

  it('rejects impossible values naming the field', () => {
    const m = new RoutesyncMetrics({ provider: 'aws', defaultMetrics: false });
    expect(() => m.setTableQuota('t', -1, 50)).toThrow(/used/);
    expect(() => m.setPool(NaN, 0, 0)).toThrow(/size/);
    expect(() => m.setRouteStates('t', { ...allStates(0), stale: -2 })).toThrow(/counts\.stale/);
    expect(() => new RoutesyncMetrics({ provider: '' })).toThrow(/provider/);
  });
});
