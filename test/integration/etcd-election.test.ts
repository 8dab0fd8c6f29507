// The etcd store's leader election (src/store/etcd/election.ts) against one real etcd, with candidates in
// separate processes so a crash is a real SIGKILL (a client closed in-process does not release its key).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdLeadership } from '../../src/store/etcd/election.ts';
import { LeadershipLostError } from '../../src/store/leadership.ts';
import { silentLogger } from '../../src/log.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';

const NODE = 'node_modules/.bin/node';

interface Candidate {
  proc: ChildProcess;
  next(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(cmd: string): void;
}

const children: ChildProcess[] = [];

function candidate(etcd: EtcdServer, base: string, ttlMs: number, identity: string): Candidate {
  const proc = spawn(NODE, ['test/helpers/leader-child.ts', etcd.endpoints.join(','), base, String(ttlMs), identity], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(proc);
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  return {
    proc,
    send: (cmd) => proc.stdin!.write(`${cmd}\n`),
    next: (event, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${identity}: no "${event}" within ${timeoutMs}ms; saw ${JSON.stringify(events)}`)),
          timeoutMs,
        );
        const look = () => {
          const i = events.findIndex((e) => e.event === event);
          if (i >= 0) {
            clearTimeout(t);
            resolve(events.splice(i, 1)[0]!);
          } else waiters.push(look);
        };
        look();
      }),
  };
}

let etcd: EtcdServer;
let raw: Etcd3;
let n = 0;
beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

async function leaderValue(base: string): Promise<string | undefined> {
  const kv = await raw.getAll().prefix(`${base}election/leader/`).sort('Create', 'Ascend').limit(1).strings();
  return Object.values(kv)[0];
}

/** Until both candidates' keys exist: the second one is then really queued behind the first. */
async function candidatesRegistered(base: string, count: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await raw.getAll().prefix(`${base}election/leader/`).keys()).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} candidates registered under ${base}`);
}

describe('etcd leadership across processes', () => {
  it('one leads, the other waits; SIGKILL of the leader hands over within a few TTLs', async () => {
    const base = `/leader/t${++n}/`;
    const ttl = 2000;
    const a = candidate(etcd, base, ttl, 'a');
    await a.next('elected');
    const b = candidate(etcd, base, ttl, 'b');
    await b.next('campaigning');
    await candidatesRegistered(base, 2);
    b.send('status');
    expect(await b.next('status')).toEqual({ event: 'status', leader: false });
    expect(await leaderValue(base)).toBe('a');
    a.send('fence');
    expect(await a.next('fence')).toEqual({ event: 'fence', ok: true });

    const killedAt = Date.now();
    a.proc.kill('SIGKILL');
    await b.next('elected', 3 * ttl + 5000);
    expect(Date.now() - killedAt).toBeLessThan(3 * ttl + 5000);
    expect(await leaderValue(base)).toBe('b');
  });

  it('resign hands over at once, long before the lease could expire', async () => {
    const base = `/leader/t${++n}/`;
    const ttl = 30_000;
    const a = candidate(etcd, base, ttl, 'a');
    await a.next('elected');
    const b = candidate(etcd, base, ttl, 'b');
    await b.next('campaigning');
    await candidatesRegistered(base, 2);
    a.send('resign');
    await a.next('resigned');
    // Within a third of the TTL: only resign (not expiry) can explain it.
    await b.next('elected', ttl / 3);
    a.send('fence');
    expect((await a.next('fence')).ok).toBe(false);
  });
});

describe('fencing', () => {
  it('fence() throws and onLost fires once our election key is gone', async () => {
    const base = `/leader/t${++n}/`;
    const client = new Etcd3({ hosts: etcd.endpoints });
    const l = new EtcdLeadership({ client, base, ttlMs: 5000, identity: 'me', logger: silentLogger });
    let lost = 0;
    l.onLost(() => lost++);
    try {
      await l.campaign(new AbortController().signal);
      await l.fence();
      expect(await l.leader()).toBe('me');
      // Someone (an operator, or etcd expiring the lease) removes our key.
      await raw.delete().prefix(`${base}election/`);
      await expect(l.fence()).rejects.toBeInstanceOf(LeadershipLostError);
      expect(l.isLeader()).toBe(false);
      expect(lost).toBe(1);
      await expect(l.fence()).rejects.toThrow(/not the leader/);
    } finally {
      await l.close();
      client.close();
    }
  });

  it('a leader cut off from etcd for longer than the TTL considers itself lost', async () => {
    const own = await startEtcd();
    const client = new Etcd3({ hosts: own.endpoints });
    const l = new EtcdLeadership({ client, base: '/cut/', ttlMs: 1000, identity: 'me', logger: silentLogger });
    const lost = new Promise<void>((resolve) => l.onLost(resolve));
    try {
      await l.campaign(new AbortController().signal);
      await own.kill();
      await expect(l.fence()).rejects.toBeInstanceOf(LeadershipLostError);
      await lost; // the watchdog fires it once the TTL has passed without confirmation
      expect(l.isLeader()).toBe(false);
      await expect(l.fence()).rejects.toThrow(/not the leader/);
    } finally {
      await l.close();
      client.close();
      await own.stop();
    }
  });
});
