import { describe, expect, it } from 'vitest';
import { EC2_MUTATING_LIMIT, paced, WritePacer, type PaceTicket } from '../../providers/aws/pacing.ts';

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Takes every token available now; returns their tickets. */
function drain(p: WritePacer): PaceTicket[] {
  const out: PaceTicket[] = [];
  for (let t = p.tryAcquire(); t !== undefined; t = p.tryAcquire()) out.push(t);
  return out;
}

describe('WritePacer', () => {
  it('admits the burst at once, then one call per refill interval', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: { burst: 20, perSecond: 10 }, margin: 1 });
    expect(drain(p)).toHaveLength(20);
    expect(p.waitMs()).toBeCloseTo(100, 6);
    c.advance(99);
    expect(p.tryAcquire()).toBeUndefined();
    c.advance(1);
    expect(p.tryAcquire()).toBeDefined();
    // 3 s of refill at 10/s: 30 more, and never more than the burst after a long idle.
    c.advance(3000);
    expect(drain(p)).toHaveLength(20);
    let admitted = 0;
    for (let ms = 0; ms < 3000; ms += 10) {
      c.advance(10);
      admitted += drain(p).length;
    }
    expect(admitted).toBe(30);
  });

  it('keeps a safety margin under the cloud bucket by default (EC2 defaults: 47 burst, 4.75/s)', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: EC2_MUTATING_LIMIT });
    expect(p.burst).toBe(47);
    expect(p.ceiling).toBeCloseTo(4.75, 9);
    expect(drain(p)).toHaveLength(47);
    let admitted = 0;
    for (let ms = 0; ms < 20_000; ms += 50) {
      c.advance(50);
      admitted += drain(p).length;
    }
    expect(admitted).toBe(95);
    // Against the cloud's bucket (50 + 5/s over the same 20 s = 150 tokens) the client sent 142.
    expect(47 + admitted).toBeLessThan(50 + 5 * 20);
  });

  it('cuts the rate multiplicatively on a refusal and empties its own bucket', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: { burst: 10, perSecond: 4 }, margin: 1, beta: 0.5, recoverMs: 1e12 });
    const t = p.tryAcquire() as PaceTicket;
    p.release(t, 'throttled');
    expect(p.rate).toBe(2);
    // Nine tokens were left: none may be spent against the cloud's empty bucket.
    expect(p.tryAcquire()).toBeUndefined();
    expect(p.waitMs()).toBeCloseTo(500, 6);
  });

  it('calls sent before a cut do not cut again: one refusal wave, one decrease', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: { burst: 8, perSecond: 4 }, margin: 1, beta: 0.5, recoverMs: 1e12 });
    const wave = drain(p);
    expect(wave).toHaveLength(8);
    for (const t of wave) p.release(t, 'throttled');
    expect(p.rate).toBe(2);
    c.advance(500);
    const next = p.tryAcquire() as PaceTicket;
    p.release(next, 'throttled');
    expect(p.rate).toBeCloseTo(1, 6);
  });

  it('never drops below 1/16 of the configured rate', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: { burst: 1, perSecond: 16 }, margin: 1, beta: 0.5, recoverMs: 1e12 });
    for (let i = 0; i < 10; i++) {
      c.advance(p.waitMs());
      p.release(p.tryAcquire() as PaceTicket, 'throttled');
    }
    expect(p.rate).toBeCloseTo(1, 6);
  });

  it('recovers linearly with time after a cut, never above the configured rate', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: { burst: 5, perSecond: 10 }, margin: 1, beta: 0.5, recoverMs: 1000 });
    p.release(p.tryAcquire() as PaceTicket, 'throttled');
    const climb: number[] = [];
    for (let i = 0; i < 8; i++) {
      climb.push(Math.round(p.rate * 1000) / 1000);
      c.advance(100);
    }
    expect(climb).toEqual([5, 6, 7, 8, 9, 10, 10, 10]);
    // Back at the ceiling, a long run admits exactly the configured rate.
    c.advance(10_000);
    drain(p);
    let admitted = 0;
    for (let ms = 0; ms < 5000; ms += 20) {
      c.advance(20);
      for (const t of drain(p)) {
        admitted++;
        p.release(t, 'ok');
      }
    }
    expect(p.rate).toBe(10);
    expect(admitted).toBe(50);
  });

  it('by default recovers in the time the cloud bucket takes to refill from empty', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: EC2_MUTATING_LIMIT, beta: 0.5 });
    p.release(p.tryAcquire() as PaceTicket, 'throttled');
    expect(p.rate).toBeCloseTo(p.ceiling / 2, 9);
    c.advance(4_999);
    expect(p.rate).toBeLessThan(p.ceiling);
    c.advance(1);
    expect(p.rate).toBeCloseTo(p.ceiling, 9);
  });

  it('errors other than throttling change neither the rate nor the tokens', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, limit: { burst: 3, perSecond: 1 }, margin: 1 });
    p.release(p.tryAcquire() as PaceTicket, 'error');
    expect(p.rate).toBe(1);
    expect(drain(p)).toHaveLength(2);
  });

  it('rejects a bucket that cannot admit anything', () => {
    expect(() => new WritePacer({ now: () => 0, limit: { burst: 0, perSecond: 5 } })).toThrow(/burst/);
    expect(() => new WritePacer({ now: () => 0, limit: { burst: 50, perSecond: 0 } })).toThrow(/perSecond/);
  });
});

describe('paced', () => {
  it('waits for a token in real time divided by the time scale, and honours the AbortSignal', async () => {
    let t = 0;
    const p = new WritePacer({ now: () => t, limit: { burst: 1, perSecond: 1 }, margin: 1 });
    await paced(p, 1000);
    let second = false;
    const waiting = paced(p, 1000).then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    t += 1000;
    await waiting;
    expect(second).toBe(true);

    const ac = new AbortController();
    const third = paced(p, 1, ac.signal);
    ac.abort(new Error('stop'));
    await expect(third).rejects.toThrow('stop');
  });
});
