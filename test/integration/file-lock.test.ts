// The file store's leadership (src/store/file/lock.ts): one lock holder per state file, stale locks of dead
// processes broken, a lock taken behind our back noticed by fence().
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { FileLeadership, LockHeldError } from '../../src/store/file/lock.ts';
import { LeadershipLostError } from '../../src/store/leadership.ts';

const NODE = 'node_modules/.bin/node';

describe('file lock leadership', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routesync-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one holder at a time; tryAcquire names the holder; resign frees it', async () => {
    const path = join(dir, 'a.lock');
    const a = new FileLeadership({ path, logger: silentLogger, pollMs: 20 });
    const b = new FileLeadership({ path, logger: silentLogger, pollMs: 20 });
    await a.tryAcquire();
    await a.fence();
    const err = await b.tryAcquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toMatch(new RegExp(`held by pid ${process.pid} on `));
    const waiting = b.campaign(new AbortController().signal);
    await a.resign();
    await waiting;
    expect(b.isLeader()).toBe(true);
    await expect(a.fence()).rejects.toBeInstanceOf(LeadershipLostError);
    await b.close();
  });

  it('creates the lock directory on a fresh start', async () => {
    const l = new FileLeadership({ path: join(dir, 'fresh', '.routesync', 'state.json.lock'), logger: silentLogger });
    await l.tryAcquire();
    expect(await l.leader()).toMatch(new RegExp(`/${process.pid}$`));
    await l.close();
    expect(await l.leader()).toBeUndefined();
  });

  it('breaks a lock left by a dead process on this host', async () => {
    const path = join(dir, 'b.lock');
    const dead = spawn(NODE, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(
      path,
      JSON.stringify({ pid: dead.pid, hostname: (await import('node:os')).hostname(), startedAt: 0, token: 'old' }),
    );
    const l = new FileLeadership({ path, logger: silentLogger });
    await l.tryAcquire();
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await l.close();
  });

  it('a lock taken over behind our back fails fence() and fires onLost', async () => {
    const path = join(dir, 'c.lock');
    const l = new FileLeadership({ path, logger: silentLogger });
    let lost = 0;
    l.onLost(() => lost++);
    await l.tryAcquire();
    writeFileSync(path, JSON.stringify({ pid: 1, hostname: 'elsewhere', startedAt: 0, token: 'x' }));
    await expect(l.fence()).rejects.toThrow(/taken by pid 1 on elsewhere/);
    expect(lost).toBe(1);
    await l.close();
    expect(JSON.parse(readFileSync(path, 'utf8')).token).toBe('x');
  });

  it('campaign rejects when aborted while waiting', async () => {
    const path = join(dir, 'd.lock');
    const a = new FileLeadership({ path, logger: silentLogger, pollMs: 20 });
    await a.tryAcquire();
    const b = new FileLeadership({ path, logger: silentLogger, pollMs: 20 });
    const ac = new AbortController();
    const p = b.campaign(ac.signal);
    ac.abort(new Error('shutting down'));
    await expect(p).rejects.toThrow('shutting down');
    await a.close();
  });
});
