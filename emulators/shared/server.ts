// The HTTP server every emulator runs on: admin API under /_emulator/, injected faults, per-action
// latency and request counters. The cloud emulator only speaks its wire protocol.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { scaledClock } from './clock.ts';
import { RequestCounters } from './counters.ts';
import { FaultInjector, parseFaultRule } from './faults.ts';
import { hostileResponse, isHostileFault } from './hostile.ts';
import { isPageFault } from './paging.ts';
import { parseAdminJson, readBody } from './http-body.ts';
import { seededRng } from './rng.ts';
import { serveMetadata } from './metadata.ts';
import { startRouteMirror, type MirrorOptions, type RouteMirror } from './dataplane-mirror.ts';
import type { ProviderKind } from '../../providers/plugins.ts';
import {
  AdminError,
  type CloudEmulator,
  type EmulatorFactory,
  type EmulatorOptions,
  type EmulatorTopology,
  type EmuRequest,
  type EmuResponse,
} from './types.ts';

export interface StartOptions extends Partial<EmulatorOptions> {
  host?: string;
  port?: number;
  /** Real milliseconds an injected `timeout` holds the request before dropping the connection. */
  timeoutFaultMs?: number;
  /** Mirror a route table into a network namespace's kernel routes (root only; tests and the demo). */
  mirror?: MirrorOptions;
}

/** The topology plus where the emulator listens and which tag its seeded VMs carry. */
export interface EmulatorDescription extends EmulatorTopology {
  provider: ProviderKind;
  endpoint: string;
  /** provider.instanceFilter matching the VMs it seeds (`--tag`). */
  instanceFilter: string;
}

export interface RunningEmulator {
  readonly url: string;
  /** What a config needs to point at this emulator. */
  describe(): EmulatorDescription;
  readonly port: number;
  readonly cloud: CloudEmulator;
  readonly counters: RequestCounters;
  readonly faults: FaultInjector;
  readonly mirror?: RouteMirror;
  close(): Promise<void>;
}

export async function startEmulator(factory: EmulatorFactory, opts: StartOptions = {}): Promise<RunningEmulator> {
  const options: EmulatorOptions = {
    seed: opts.seed ?? 1,
    timeScale: opts.timeScale ?? 1,
    profile: opts.profile ?? 'fast',
    ...(opts.routeQuota !== undefined ? { routeQuota: opts.routeQuota } : {}),
    ...(opts.instances !== undefined ? { instances: opts.instances } : {}),
    ...(opts.instanceTag !== undefined ? { instanceTag: opts.instanceTag } : {}),
  };
  const clock = scaledClock(options.timeScale);
  const rng = seededRng(options.seed);
  const cloud = factory({ clock, rng, options });
  const counters = new RequestCounters();
  const faults = new FaultInjector(seededRng(options.seed ^ 0x5eed));
  const timeoutFaultMs = opts.timeoutFaultMs ?? 5000;
  // Known once listening; the admin API only answers after that.
  let url = '';
  const describe = (): EmulatorDescription => ({
    provider: cloud.kind,
    endpoint: url,
    ...cloud.topology,
    instanceFilter: `${options.instanceTag?.key ?? 'routesync-cluster'}=${options.instanceTag?.value ?? 'demo'}`,
  });
  const sockets = new Set<Socket>();
  const held = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((e: unknown) => {
      // A bug in an emulator must show as a 500 the SDK sees, not as a hung request.
      if (!res.headersSent)
        send(res, {
          status: 500,
          contentType: 'text/plain',
          body: `emulator error: ${String(e)}`,
          outcome: 'EmulatorBug',
        });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = clock.now();
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const er: EmuRequest = { method: req.method ?? 'GET', url, headers: req.headers, body };
    if (url.pathname.startsWith('/_emulator/')) return admin(er, res);
    if (url.pathname.startsWith('/_metadata/')) return send(res, serveMetadata(cloud, er));

    const { action, client, mutating } = cloud.identify(er);
    const fault = faults.pick(action);
    if (fault?.error === 'reset') {
      counters.record({ at: clock.now(), receivedAt, client, action, outcome: 'reset', mutating });
      req.socket.destroy();
      return;
    }
    if (fault?.error === 'timeout') {
      counters.record({ at: clock.now(), receivedAt, client, action, outcome: 'timeout', mutating });
      const t = setTimeout(() => {
        held.delete(t);
        req.socket.destroy();
      }, timeoutFaultMs);
      held.add(t);
      return;
    }
    await clock.sleep(cloud.latencyMs(action, mutating));
    const out = fault ? await playFault(fault.error, er, action) : await cloud.handle(er, action);
    counters.record({ at: clock.now(), receivedAt, client, action, outcome: out.outcome, mutating });
    send(res, out);
  }

  async function playFault(error: string, er: EmuRequest, action: string): Promise<EmuResponse> {
    if (isPageFault(error)) {
      // The listing itself plays it; an answer it did not change (one page, no listing) is counted as true.
      const paging = { fault: error, played: false };
      const out = await cloud.handle({ ...er, paging }, action);
      return paging.played && out.status >= 200 && out.status < 300 ? { ...out, outcome: `hostile:${error}` } : out;
    }
    if (!isHostileFault(error)) return cloud.faultResponse(error, action);
    const real = await cloud.handle(er, action);
    return hostileResponse(cloud, error, action, real) ?? real;
  }

  function admin(er: EmuRequest, res: ServerResponse): void {
    const path = er.url.pathname.slice('/_emulator/'.length).replace(/\/+$/, '');
    const json = (status: number, value: unknown) =>
      send(res, { status, contentType: 'application/json', body: JSON.stringify(value), outcome: 'admin' });
    try {
      const body = er.body === '' ? {} : parseAdminJson(er.body);
      const m = er.method;
      if (m === 'GET' && path === 'state')
        return json(200, { topology: describe(), ...(cloud.admin.state() as object) });
      if (m === 'POST' && path === 'instances') return json(201, { instances: cloud.admin.addInstances(body) });
      if (m === 'DELETE' && path.startsWith('instances/')) {
        const id = decodeURIComponent(path.slice('instances/'.length));
        return cloud.admin.terminateInstance(id)
          ? json(200, { terminated: id })
          : json(404, { error: `no instance ${id}` });
      }
      if (m === 'POST' && path === 'routes') return json(201, { route: cloud.admin.addRoute(body) });
      if (m === 'DELETE' && path === 'routes') {
        return cloud.admin.deleteRoute(body) ? json(200, { deleted: true }) : json(404, { error: 'no such route' });
      }
      if (m === 'POST' && path === 'quota') {
        cloud.admin.setQuota(body);
        return json(200, { ok: true });
      }
      if (m === 'POST' && path === 'faults') {
        const b = body as { rules?: unknown };
        const rules = Array.isArray(b.rules) ? b.rules.map(parseFaultRule) : [parseFaultRule(body)];
        faults.add(rules);
        return json(201, { rules: faults.list() });
      }
      if (m === 'GET' && path === 'faults') return json(200, { rules: faults.list() });
      if (m === 'DELETE' && path === 'faults') {
        faults.clear();
        return json(200, { rules: [] });
      }
      if (m === 'GET' && path === 'requests') {
        const snap = counters.snapshot();
        return json(200, er.url.searchParams.get('log') === '1' ? snap : { ...snap, log: undefined });
      }
      if (m === 'DELETE' && path === 'requests') {
        counters.reset();
        return json(200, { total: 0 });
      }
      return json(404, { error: `no admin endpoint ${m} /_emulator/${path}` });
    } catch (e) {
      if (e instanceof AdminError) return json(e.status, { error: e.message });
      if (e instanceof Error && e.message.startsWith('fault rule')) return json(400, { error: e.message });
      throw e;
    }
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const host = opts.host ?? '127.0.0.1';
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const mirror = opts.mirror ? startRouteMirror(cloud, opts.mirror) : undefined;
  return {
    url,
    port,
    cloud,
    counters,
    faults,
    ...(mirror ? { mirror } : {}),
    describe,
    async close() {
      await mirror?.stop();
      for (const t of held) clearTimeout(t);
      cloud.close?.();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function send(res: ServerResponse, out: EmuResponse): void {
  res.writeHead(out.status, { 'content-type': out.contentType, ...(out.headers ?? {}) });
  res.end(out.body);
}
