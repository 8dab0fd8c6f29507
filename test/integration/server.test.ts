import { afterEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { RoutesyncMetrics } from '../../src/metrics.ts';
import { parseListen, startServer, statusAllowed } from '../../src/server.ts';
import { isLoopbackAddress, isLoopbackUrl } from '../../src/lib/loopback.ts';
import { parsePromText, sampleValue } from '../helpers/prom-text.ts';

const silent: Logger = pino({ level: 'silent' });
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

async function start(over: Partial<Parameters<typeof startServer>[0]> = {}) {
  const metrics = new RoutesyncMetrics({ provider: 'aws' });
  const srv = await startServer({
    listen: '127.0.0.1:0',
    metrics,
    status: () => ({ ok: true }),
    ready: () => ({ ok: true }),
    logger: silent,
    ...over,
  });
  closers.push(() => srv.close());
  return { srv, metrics };
}

describe('HTTP server', () => {
  it('serves /metrics in the Prometheus text format with names, types and labels', async () => {
    const { srv, metrics } = await start();
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    metrics.setTableQuota('rtb-1', 45, 50);
    metrics.setRouteStates('rtb-1', {
      ok: 44,
      missing: 1,
      wrong_target: 0,
      stale: 0,
      blackhole: 0,
      conflict: 0,
      blocked_quota: 2,
      pending: 0,
      releasing: 0,
    });
    metrics.apiObserver.request('CreateRoute', 'ok', 0.05);
    metrics.apiObserver.retry('CreateRoute', 'throttled');
    metrics.observePass(1.2, true, Date.UTC(2026, 0, 1));
    metrics.setLeader(true);

    const res = await fetch(`${srv.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const fams = parsePromText(await res.text());
    expect(fams.get('routesync_route_table_usage_ratio')?.type).toBe('gauge');
    expect(fams.get('routesync_cloud_api_requests_total')?.type).toBe('counter');
    expect(fams.get('routesync_cloud_api_request_duration_seconds')?.type).toBe('histogram');
    expect(fams.get('routesync_reconcile_duration_seconds')?.type).toBe('histogram');
    expect(sampleValue(fams, 'routesync_route_table_usage_ratio', { provider: 'aws', table: 'rtb-1' })).toBeCloseTo(
      0.9,
    );
    expect(sampleValue(fams, 'routesync_routes', { provider: 'aws', table: 'rtb-1', state: 'blocked_quota' })).toBe(2);
    expect(sampleValue(fams, 'routesync_cloud_api_retries_total', { action: 'CreateRoute', kind: 'throttled' })).toBe(
      1,
    );
    expect(sampleValue(fams, 'routesync_leader', { provider: 'aws' })).toBe(1);
    expect(sampleValue(fams, 'routesync_last_successful_reconcile_timestamp_seconds')).toBe(
      Date.UTC(2026, 0, 1) / 1000,
    );
    for (const f of fams.values()) for (const s of f.samples) expect(s.labels.provider).toBe('aws');
  });

  it('/healthz answers 200 while alive, also when not ready', async () => {
    const { srv } = await start({ ready: () => ({ ok: false, reason: 'no leader' }) });
    const res = await fetch(`${srv.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('/readyz is 200 when ready and 503 with the reason when not', async () => {
    let ready: { ok: boolean; reason?: string } = { ok: false, reason: 'store not reachable' };
    const { srv } = await start({ ready: async () => ready });
    let res = await fetch(`${srv.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('store not reachable');
    ready = { ok: true };
    res = await fetch(`${srv.url}/readyz`);
    expect(res.status).toBe(200);
  });

  it('/readyz is 503 naming the error when the check throws', async () => {
    const { srv } = await start({
      ready: () => {
        throw new Error('etcd timeout');
      },
    });
    const res = await fetch(`${srv.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('etcd timeout');
  });

  it('/status returns the JSON of status()', async () => {
    const snapshot = { leader: true, tables: [{ id: 'rtb-1', used: 45, limit: 50 }], lastPass: { ok: true } };
    const { srv } = await start({ status: async () => snapshot });
    const res = await fetch(`${srv.url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual(snapshot);
  });

  it('/status is 500 with the error when status() fails', async () => {
    const { srv } = await start({
      status: () => {
        throw new Error('not started');
      },
    });
    const res = await fetch(`${srv.url}/status`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'not started' });
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const { srv } = await start();
    expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
    const post = await fetch(`${srv.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('close() stops listening and is idempotent', async () => {
    const { srv } = await start();
    await srv.close();
    await srv.close();
    await expect(fetch(`${srv.url}/healthz`)).rejects.toThrow();
  });

  it('rejects a bad listen address naming the field', async () => {
    expect(() => parseListen('9090')).toThrow(/server\.listen/);
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/out of range/);
    expect(parseListen('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(parseListen(':9090')).toEqual({ host: '0.0.0.0', port: 9090 });
    const metrics = new RoutesyncMetrics({ provider: 'aws', defaultMetrics: false });
    await expect(
      startServer({ listen: 'localhost', metrics, status: () => null, ready: () => ({ ok: true }), logger: silent }),
    ).rejects.toThrow(/server\.listen/);
  });

  it('reports a port already in use as a listen error', async () => {
    const { srv } = await start();
    const metrics = new RoutesyncMetrics({ provider: 'aws', defaultMetrics: false });
    const port = new URL(srv.url).port;
    await expect(
      startServer({
        listen: `127.0.0.1:${port}`,
        metrics,
        status: () => null,
        ready: () => ({ ok: true }),
        logger: silent,
      }),
    ).rejects.toThrow(/cannot listen/);
  });

  it('/status (VM ids and IPs) answers loopback clients only, unless statusFrom is any', async () => {
    for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1', '[::1]'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.5', '0.0.0.0', '::', '::ffff:10.0.0.5', '128.0.0.1', 'fe80::1', undefined])
      expect(isLoopbackAddress(a), String(a)).toBe(false);
    expect(statusAllowed('10.0.0.5')).toBe(false);
    expect(statusAllowed('10.0.0.5', 'loopback')).toBe(false);
    expect(statusAllowed('10.0.0.5', 'any')).toBe(true);
    expect(statusAllowed('127.0.0.1')).toBe(true);
    expect(isLoopbackUrl('http://127.0.0.1:8080')).toBe(true);
    expect(isLoopbackUrl('http://localhost:8080')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8080')).toBe(true);
    expect(isLoopbackUrl('https://ec2.us-east-1.amazonaws.com')).toBe(false);
    expect(isLoopbackUrl(undefined)).toBe(false);
    const { srv } = await start({ statusFrom: 'loopback', status: () => ({ ok: 1 }) });
    expect((await fetch(`${srv.url}/status`)).status).toBe(200);
  });
});
