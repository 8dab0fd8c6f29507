// The last fence of a write (I4): the leader's synchronous, local lease check, run by Node's HTTP client at
// the moment the request has a connected socket, just before its bytes go out. The async fence before each
// attempt cannot see past what follows it: a new connection's TCP handshake, a keep-alive socket still busy.
// A process paused there (SIGSTOP, a stalled host) would otherwise send, on waking, a write it fenced for
// long before. All three SDKs send over node:http (the AWS SDK, pop-core, google-gax through node-fetch).
//
// The check rides on the async context of the write attempt (AsyncLocalStorage), so only the requests that
// attempt makes are gated; a failed check destroys the request before anything is written, which the SDK
// reports as a network error and the provider's next fence turns into "not the leader".
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

const current = new AsyncLocalStorage<() => void>();
let subscribed = false;

function gate(req: ClientRequest, check: () => void): void {
  try {
    check();
  } catch (e) {
    req.destroy(e instanceof Error ? e : new Error(String(e)));
  }
}

/** Published synchronously in ClientRequest's constructor, before a socket is assigned (Node ≥ 22.12). */
function onCreated(message: unknown): void {
  const check = current.getStore();
  if (!check) return;
  const req = (message as { request: ClientRequest }).request;
  // 'socket' comes before the request is flushed; on a socket still connecting the buffered bytes leave
  // from a 'connect' listener, which ours (prepended) runs ahead of.
  req.once('socket', (socket: Socket) => {
    if (socket.connecting) socket.prependOnceListener('connect', () => gate(req, check));
    else gate(req, check);
  });
}

/**
 * Runs `send` (one write attempt) with `check` gating every HTTP request it makes. `check` throws when the
 * process must not write; it also runs once now, so a caller that is already fenced sends nothing.
 */
export function onTheWire<T>(check: (() => void) | undefined, send: () => Promise<T>): Promise<T> {
  if (!check) return send();
  if (!subscribed) {
    subscribe('http.client.request.created', onCreated);
    subscribed = true;
  }
  try {
    check();
  } catch (e) {
    return Promise.reject(e);
  }
  return current.run(check, send);
}
