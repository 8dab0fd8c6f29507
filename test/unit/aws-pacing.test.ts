import { describe, expect, it } from 'vitest';
import { PacerGate, WritePacer } from '../../providers/aws/pacing.ts';

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('WritePacer', () => {
  it('does not pace before the first throttle, up to the in-flight limit', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, maxInFlight: 3 });
    expect(p.rate).toBe(Infinity);
    expect([p.tryAcquire(), p.tryAcquire(), p.tryAcquire(), p.tryAcquire()]).toEqual([true, true, true, false]);
    p.release('ok');
    expect(p.tryAcquire()).toBe(true);
  });

  it('halves the in-flight limit on a throttle, never below 1, and adds one after a run of successes', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, maxInFlight: 8, growAfter: 3 });
    for (const want of [4, 2, 1, 1]) {
      c.advance(10_000); // past the pacing wait: this test is about the in-flight limit
      expect(p.tryAcquire()).toBe(true);
      p.release('throttled');
      expect(p.limit).toBe(want);
    }
    const okRun = () => {
      for (let i = 0; i < 3; i++) {
        c.advance(10_000);
        expect(p.tryAcquire()).toBe(true);
        p.release('ok');
      }
    };
    okRun();
    expect(p.limit).toBe(2);
    for (let i = 0; i < 20; i++) okRun();
    expect(p.limit).toBe(8);
  });

  it('errors other than throttling change neither the limit nor the rate', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, maxInFlight: 4 });
    expect(p.tryAcquire()).toBe(true);
    p.release('error');
    expect(p.limit).toBe(4);
    expect(p.rate).toBe(Infinity);
  });

  it('after a throttle, paces at β × the measured rate and climbs back over time', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, maxInFlight: 8, beta: 0.5, cubicScale: 0.4 });
    // 10 requests/s for 2 s measured, then a throttle.
    for (let i = 0; i < 20; i++) {
      c.advance(100);
      expect(p.tryAcquire()).toBe(true);
      p.release('ok');
    }
    expect(p.tryAcquire()).toBe(true);
    p.release('throttled');
    const r0 = p.rate;
    expect(r0).toBeGreaterThan(3);
    expect(r0).toBeLessThan(6);
    // Its bucket starts empty: the next call waits about one token's time.
    expect(p.waitMs()).toBeCloseTo(1000 / r0, 5);
    expect(p.tryAcquire()).toBe(false);
    c.advance(p.waitMs());
    expect(p.tryAcquire()).toBe(true);
    // Successes spread over a few seconds raise the rate again.
    for (let i = 0; i < 20; i++) {
      p.release('ok');
      c.advance(p.waitMs() + 1);
      expect(p.tryAcquire()).toBe(true);
    }
    p.release('ok');
    expect(p.rate).toBeGreaterThan(r0);
  });

  it('a second throttle lowers the rate further', () => {
    const c = fakeClock();
    const p = new WritePacer({ now: c.now, maxInFlight: 1 });
    for (let i = 0; i < 10; i++) {
      c.advance(100);
      p.tryAcquire();
      p.release('ok');
    }
    p.tryAcquire();
    p.release('throttled');
    const r1 = p.rate;
    c.advance(p.waitMs());
    p.tryAcquire();
    c.advance(1);
    p.release('throttled');
    expect(p.rate).toBeLessThan(r1);
    expect(p.rate).toBeGreaterThanOrEqual(0.5);
  });

  it('rejects a non-positive in-flight bound', () => {
    expect(() => new WritePacer({ now: () => 0, maxInFlight: 0 })).toThrow(/maxInFlight/);
  });
});

describe('PacerGate', () => {
  it('wakes a waiter when a slot frees and honours the AbortSignal', async () => {
    const p = new WritePacer({ now: () => 0, maxInFlight: 1 });
    const g = new PacerGate(p, 1000);
    await g.acquire();
    let second = false;
    const waiting = g.acquire().then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    g.release('ok');
    await waiting;
    expect(second).toBe(true);

    const ac = new AbortController();
    const third = g.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(third).rejects.toThrow('stop');
    g.release('ok');
    expect(p.active).toBe(0);
  });
});
