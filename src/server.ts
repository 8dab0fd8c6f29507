// The controller's HTTP face: /metrics for Prometheus, /healthz (liveness: answers while the process runs),
// /readyz (readiness, with the reason when not ready), /status (the JSON status of the last pass, from
// memory: a request costs no store or cloud read). node:http only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isLoopbackAddress } from './lib/loopback.ts';
import type { RoutesyncMetrics } from './metrics.ts';

export interface ReadyResult {
  ok: boolean;
  reason?: string;
}

export interface ServerOptions {
  /** host:port; port 0 picks a free one. IPv6 hosts in brackets: [::1]:9090. */
  listen: string;
  metrics: RoutesyncMetrics;
  status: () => Promise<unknown> | unknown;
  ready: () => Promise<ReadyResult> | ReadyResult;
  /**
   * Who may read /status, which lists every VM's id, name, IP and subnet: `loopback` (default) answers
   * only clients on this host (kubectl port-forward and exec count), `any` everyone who reaches the port.
   */
  statusFrom?: 'loopback' | 'any';
  logger: Logger;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  if (!m)
    throw new RangeError(`server.listen: expected host:port (e.g. 127.0.0.1:9090), got ${JSON.stringify(listen)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`server.listen: port ${port} is out of range 0-65535`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** May this client read /status? `loopback` (the default): only clients on this host. */
export function statusAllowed(
  remoteAddress: string | undefined,
  statusFrom: ServerOptions['statusFrom'] = 'loopback',
): boolean {
  return statusFrom === 'any' || isLoopbackAddress(remoteAddress);
}

function send(res: ServerResponse, code: number, type: string, body: string, head: boolean): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { host, port } = parseListen(opts.listen);
  const { metrics, logger } = opts;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, TEXT, 'method not allowed\n', head);
    }
    switch (path) {
      case '/metrics': {
        const body = await metrics.registry.metrics();
        return send(res, 200, metrics.registry.contentType, body, head);
      }
      case '/healthz':
        return send(res, 200, TEXT, 'ok\n', head);
      case '/readyz': {
        let r: ReadyResult;
        try {
          r = await opts.ready();
        } catch (err) {
          r = { ok: false, reason: `readiness check failed: ${message(err)}` };
        }
        return r.ok
          ? send(res, 200, TEXT, 'ok\n', head)
          : send(res, 503, TEXT, `not ready: ${r.reason ?? 'unknown reason'}\n`, head);
      }
      case '/status': {
        if (!statusAllowed(req.socket.remoteAddress, opts.statusFrom)) {
          return send(
            res,
            403,
            TEXT,
            'forbidden: /status lists VMs and their IPs and answers loopback clients only (metrics.statusFrom: any serves it to everyone)\n',
            head,
          );
        }
        try {
          const s = await opts.status();
          return send(res, 200, JSON_TYPE, `${JSON.stringify(s ?? null, null, 2)}\n`, head);
        } catch (err) {
          logger.warn({ err }, 'status snapshot failed');
          return send(res, 500, JSON_TYPE, `${JSON.stringify({ error: message(err) })}\n`, head);
        }
      }
      default:
        return send(res, 404, TEXT, 'not found: try /metrics /healthz /readyz /status\n', head);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'http handler failed');
      if (!res.headersSent) send(res, 500, TEXT, `internal error: ${message(err)}\n`, false);
      else res.destroy();
    });
  });
  // Slow or idle scrapers must not pin sockets forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`server.listen: cannot listen on ${opts.listen}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'http server error'));

  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${urlHost}:${addr.port}`;
  logger.info({ url }, 'http server listening (/metrics /healthz /readyz /status)');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
