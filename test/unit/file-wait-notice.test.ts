// A process waiting for the file store's lock says who holds it when it starts waiting and when the holder
// changes, then reminds every LOCK_WAIT_NOTICE_MS: never a line per poll, never silence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.ts';
import { FileLeadership } from '../../src/store/file/lock.ts';
import { LOCK_WAIT_NOTICE_MS } from '../../src/store/file/wait-notice.ts';

function capture() {
  const lines: Array<{ level: number; msg: string; holder?: { pid: number } }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('waiting for the file store lock', () => {
  it('names the holder once, again when it changes, and then every minute', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'routesync-wait-')), 'state.json.lock');
    // A holder on another host is never broken automatically: the waiter keeps waiting.
    const holder = (pid: number, token: string) =>
      writeFileSync(path, JSON.stringify({ pid, hostname: 'node-a', startedAt: Date.UTC(2026, 0, 1, 8), token }));
    holder(4242, 'first');
    const clock = new ManualClock();
    const ac = new AbortController();
    let polls = 0;
    const POLL = 1000;
    const ticking = {
      now: () => clock.now(),
      monotonic: () => clock.monotonic(),
      async sleep(ms: number) {
        clock.advance(ms);
        polls++;
        if (polls === 30) holder(4343, 'second');
        if (polls === 150) ac.abort(new Error('enough'));
        if (ac.signal.aborted) throw ac.signal.reason;
      },
    };
    const { logger, lines } = capture();
    const l = new FileLeadership({ path, logger, clock: ticking, pollMs: POLL });
    await expect(l.campaign(ac.signal)).rejects.toThrow('enough');
    const said = lines.filter((x) => /is held by pid/.test(x.msg));
    // 150 polls in 149 s: t=0 (4242), t=30 s (the holder changed: 4343), a reminder a minute later (t=90 s).
    expect(LOCK_WAIT_NOTICE_MS).toBe(60_000);
    expect(said.map((x) => x.holder?.pid)).toEqual([4242, 4343, 4343]);
    expect(said[0]!.msg).toContain(`pid 4242 on node-a since 2026-01-01T08:00:00.000Z; waiting`);
    expect(said.at(-1)!.msg).toMatch(/waiting for \d+ s/);
    expect(said.every((x) => x.level === 40)).toBe(true);
  });
});
