// The GCE provider's rate window on a hand-moved clock: a minute's worth at once, then each request a
// minute after the one a minute's worth before it, in arrival order and cloud time; never more than the
// limit in any 60 s span, whatever the arrivals (so no clock-minute window of Google's sees more).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../providers/gce/rate-window.ts';
import type { Clock } from '../../src/lib/clock.ts';

/** A clock that only moves when told; sleeps wait for it and are recorded. */
class StepClock implements Clock {
  t = 0;
  readonly sleeps: number[] = [];
  private readonly waiting: Array<{ at: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      const w = { at: this.t + ms, resolve, reject };
      this.waiting.push(w);
      signal?.addEventListener('abort', () => {
        this.waiting.splice(this.waiting.indexOf(w), 1);
        reject(signal.reason);
      });
    });
  }
  /** Moves time on and wakes every sleeper that is due. */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    for (const w of this.waiting.filter((x) => x.at <= this.t + 1e-9)) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resolve();
    }
    // Let the woken takers' continuations run.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

function started(w: RateWindow, n: number, order: number[], signal?: AbortSignal): Array<Promise<void>> {
  return Array.from({ length: n }, (_, i) => w.take(signal).then(() => void order.push(i)));
}

describe('gce rate window', () => {
  it("lets a minute's worth through at once, then each one a minute after its place-holder, in order", async () => {
    const clock = new StepClock();
    const w = new RateWindow({ perMinute: 3, timeScale: 1, clock });
    const order: number[] = [];
    const first = started(w, 2, order);
    await clock.advance(10_000);
    const more = started(w, 4, order);
    await clock.advance(0);
    expect(order).toEqual([0, 1, 0]);
    // The 4th and 5th go a minute after the first two (t=60 s), the 6th a minute after the 3rd (t=70 s).
    expect(clock.sleeps).toEqual([50_000, 50_000, 60_000]);
    await clock.advance(50_000);
    expect(order).toEqual([0, 1, 0, 1, 2]);
    await clock.advance(10_000);
    await Promise.all([...first, ...more]);
    expect(order).toEqual([0, 1, 0, 1, 2, 3]);
  });

  it('never sends more than perMinute in any 60 s span, and nothing before it arrived', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 120 }),
        (perMinute, gaps) => {
          const clock = new StepClock();
          const w = new RateWindow({ perMinute, timeScale: 1, clock });
          const sends: number[] = [];
          for (const gap of gaps) {
            clock.t += gap;
            const before = clock.sleeps.length;
            void w.take();
            const slept = clock.sleeps.length > before ? (clock.sleeps[before] as number) : 0;
            expect(slept).toBeGreaterThanOrEqual(0);
            sends.push(clock.t + slept);
          }
          for (let i = 0; i + perMinute < sends.length; i++)
            expect((sends[i + perMinute] as number) - (sends[i] as number)).toBeGreaterThanOrEqual(60_000);
          for (let i = 1; i < sends.length; i++) expect(sends[i]).toBeGreaterThanOrEqual(sends[i - 1] as number);
        },
      ),
    );
  });

  it('counts in cloud time: a 10x faster cloud turns its minute 10x sooner in real time', async () => {
    const clock = new StepClock();
    const w = new RateWindow({ perMinute: 1, timeScale: 10, clock });
    await w.take();
    void w.take();
    expect(clock.sleeps).toEqual([6000]);
  });

  it('an aborted taker rejects with the reason and gives its slot back', async () => {
    const clock = new StepClock();
    const w = new RateWindow({ perMinute: 1, timeScale: 1, clock });
    await w.take();
    const ac = new AbortController();
    const queued = w.take(ac.signal);
    ac.abort(new Error('stop'));
    await expect(queued).rejects.toThrow('stop');
    // The slot the aborted caller had reserved is the next caller's: one minute, not two.
    void w.take();
    expect(clock.sleeps).toEqual([60_000, 60_000]);
    await expect(w.take(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('refuses a window that could never let a request through', () => {
    const clock = new StepClock();
    expect(() => new RateWindow({ perMinute: 0, timeScale: 1, clock })).toThrow('perMinute');
    expect(() => new RateWindow({ perMinute: 2.5, timeScale: 1, clock })).toThrow('perMinute');
    expect(() => new RateWindow({ perMinute: 1, timeScale: 0, clock })).toThrow('timeScale');
  });
});
