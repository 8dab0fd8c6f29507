// The agent's own metrics and HTTP face (/metrics, /healthz, /readyz), on its own port so it never
// collides with a controller on the same VM. A fresh registry per agent: tests run several in one process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseListen } from '../server.ts';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly subnetKnown: Gauge;
  readonly rulesInPlace: Gauge;
  readonly lastSuccess: Gauge;
  readonly syncErrors: Counter<'reason'>;
  readonly syncDuration: Histogram;
  readonly restoreDuration: Histogram;
  readonly restores: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.subnetKnown = new Gauge({
      name: 'routesync_agent_subnet_known',
      help: "1 once this VM's subnet is known from the store",
      registers,
    });
    this.rulesInPlace = new Gauge({
      name: 'routesync_agent_rules_in_place',
      help: '1 while the last check found every rule of the agent installed',
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'routesync_agent_last_successful_sync_timestamp_seconds',
      help: 'End of the last sync that completed',
      registers,
    });
    this.syncErrors = new Counter({
      name: 'routesync_agent_sync_errors_total',
      help: 'Syncs that failed, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.syncDuration = new Histogram({
      name: 'routesync_agent_sync_duration_seconds',
      help: 'Duration of one sync',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.restoreDuration = new Histogram({
      name: 'routesync_agent_iptables_restore_duration_seconds',
      help: 'Duration of one iptables-restore',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.restores = new Counter({
      name: 'routesync_agent_rule_restores_total',
      help: "iptables-restore runs (first install, config change, or rules changed behind the agent's back)",
      registers,
    });
    for (const r of ['identity', 'store', 'node', 'iptables', 'files', 'config']) this.syncErrors.inc({ reason: r }, 0);
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'routesync_agent_' });
  }
}

export interface AgentServer {
  url: string;
  close(): Promise<void>;
}

export async function startAgentServer(
  listen: string,
  metrics: AgentMetrics,
  ready: () => { ok: boolean; reason?: string },
): Promise<AgentServer> {
  const { host, port } = parseListen(listen);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/metrics') {
      void metrics.registry.metrics().then(
        (m) => send(200, metrics.registry.contentType, m),
        (e: unknown) => send(500, 'text/plain', `${String(e)}\n`),
      );
    } else if (path === '/healthz') send(200, 'text/plain', 'ok\n');
    else if (path === '/readyz') {
      const r = ready();
      send(r.ok ? 200 : 503, 'text/plain', r.ok ? 'ok\n' : `not ready: ${r.reason ?? 'unknown'}\n`);
    } else send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
