// The wire fence (I4): a write attempt's synchronous lease check runs again as its HTTP request gets a
// connected socket, so a request that passed the fence and then waited (a TCP handshake, a pause) is
// destroyed before any of its bytes leave once the check refuses.
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onTheWire } from '../../providers/wire-fence.ts';

let server: Server;
let port: number;
let served = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    served++;
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function post(agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve('ok'));
    });
    r.on('error', reject);
    r.end('CreateRoute');
  });
}

/** Passes its first `passes` calls, then throws. */
function lease(passes: number): { check: () => void; calls: () => number } {
  let calls = 0;
  return {
    check: () => {
      if (++calls > passes) throw new Error('lease deadline passed');
    },
    calls: () => calls,
  };
}

describe('onTheWire', () => {
  it('sends when the check passes, on a new and on a reused connection', async () => {
    const agent = new Agent({ keepAlive: true });
    const before = served;
    const l = lease(Infinity);
    expect(await onTheWire(l.check, () => post(agent))).toBe('ok');
    expect(await onTheWire(l.check, () => post(agent))).toBe('ok');
    expect(served - before).toBe(2);
    // Once before the attempt, once at the socket: twice per request.
    expect(l.calls()).toBe(4);
    agent.destroy();
  });

  it('refuses before anything starts when the check already fails', async () => {
    const before = served;
    let started = false;
    await expect(onTheWire(lease(0).check, async () => (started = true))).rejects.toThrow('lease deadline passed');
    expect(started).toBe(false);
    expect(served).toBe(before);
  });

  it('destroys a request whose check fails once its new connection is up: nothing reaches the server', async () => {
    const agent = new Agent({ keepAlive: true });
    const before = served;
    await expect(onTheWire(lease(1).check, () => post(agent))).rejects.toThrow('lease deadline passed');
    await new Promise((r) => setTimeout(r, 50));
    expect(served).toBe(before);
    agent.destroy();
  });

  it('destroys a request on a reused keep-alive socket the same way', async () => {
    const agent = new Agent({ keepAlive: true });
    await post(agent);
    const before = served;
    await expect(onTheWire(lease(1).check, () => post(agent))).rejects.toThrow('lease deadline passed');
    await new Promise((r) => setTimeout(r, 50));
    expect(served).toBe(before);
    agent.destroy();
  });

  it('gates only the requests of the attempt it wraps', async () => {
    const agent = new Agent({ keepAlive: true });
    const before = served;
    const l = lease(1);
    // Settled into a value at once: it is refused while the other request is still being awaited.
    const fenced = onTheWire(l.check, () => post(agent)).then(
      () => 'sent',
      (e: unknown) => (e as Error).message,
    );
    // Started outside the attempt's async context while it is pending: not gated.
    expect(await post(agent)).toBe('ok');
    expect(await fenced).toBe('lease deadline passed');
    expect(served - before).toBe(1);
    agent.destroy();
  });
});
