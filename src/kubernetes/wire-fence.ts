// The last fence of a Kubernetes write (I4), as providers/wire-fence.ts is for the clouds' SDKs: the
// leader's synchronous lease check, run at the moment a write's bytes are about to leave. client-node sends
// through undici (not node:http), which publishes `undici:client:sendHeaders` synchronously right before it
// writes the request's first byte to the socket; a failed check destroys that socket there, so nothing of
// the request is sent and the caller sees a network error (its next fence() says why).
//
// The gate is per API server origin and for writes only (anything but GET/HEAD). The Lease's own requests
// are exempt: a renewal is itself guarded by its resourceVersion, and gating it would stop the leader from
// ever renewing once the deadline passed.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

interface SendHeaders {
  request: { origin?: unknown; method?: unknown; path?: unknown };
  socket: Socket;
}

export interface KubeWireFence {
  /** How many writes the gate stopped. */
  readonly refused: number;
  close(): void;
}

/**
 * Gates every write this process sends to `server` (the kubeconfig's URL) with `check`, except those to a
 * path `exempt` accepts. Returns a handle to remove the gate.
 */
export function fenceKubeWrites(
  server: string,
  check: () => void,
  exempt: (path: string) => boolean = () => false,
): KubeWireFence {
  const origin = new URL(server).origin;
  let refused = 0;
  const onSend = (message: unknown): void => {
    const { request, socket } = message as SendHeaders;
    if (String(request.origin) !== origin && !String(request.origin).startsWith(`${origin}/`)) return;
    const method = String(request.method).toUpperCase();
    if (method === 'GET' || method === 'HEAD') return;
    const path = String(request.path ?? '');
    if (exempt(path.split('?')[0] as string)) return;
    try {
      check();
    } catch (e) {
      refused++;
      socket.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };
  subscribe('undici:client:sendHeaders', onSend);
  return {
    get refused() {
      return refused;
    },
    close: () => {
      unsubscribe('undici:client:sendHeaders', onSend);
    },
  };
}

/** The exemption for one Lease: its item URL (GET/PUT/PATCH) and its namespace's collection (the create). */
export function leasePaths(namespace: string, name: string): (path: string) => boolean {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return (p) => p === base || p === `${base}/${encodeURIComponent(name)}`;
}
