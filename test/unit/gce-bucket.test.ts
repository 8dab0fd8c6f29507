// The GCE provider's rate bucket on a hand-moved clock: the burst goes out at once, then one request per
// refill interval in arrival order, in cloud time, and an aborted caller gives its place back.
import { describe, expect, it } from 'vitest';
import { RateBucket } from '../../providers/gce/bucket.ts';
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

function started(bucket: RateBucket, n: number, order: number[], signal?: AbortSignal): Array<Promise<void>> {
  return Array.from({ length: n }, (_, i) => bucket.take(signal).then(() => void order.push(i)));
}

describe('gce rate bucket', () => {
  it('lets the burst through at once, then one per refill interval in arrival order', async () => {
    const clock = new StepClock();
    const bucket = new RateBucket({ burst: 5, perSecond: 2, timeScale: 1, clock });
    const order: number[] = [];
    const all = started(bucket, 8, order);
    await clock.advance(0);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    await clock.advance(500);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    await clock.advance(500);
    await clock.advance(500);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The three over the burst each waited for their own token: 1, 2 and 3 refill intervals.
    expect(clock.sleeps).toEqual([500, 1000, 1500]);
  });

  it('counts in cloud time: a 10× faster cloud refills 10× sooner in real time', async () => {
    const clock = new StepClock();
    const bucket = new RateBucket({ burst: 1, perSecond: 25, timeScale: 10, clock });
    await bucket.take();
    void bucket.take();
    expect(clock.sleeps).toEqual([4]);
  });

  it('refills up to the burst and no further while idle', async () => {
    const clock = new StepClock();
    const bucket = new RateBucket({ burst: 3, perSecond: 1, timeScale: 1, clock });
    const order: number[] = [];
    await Promise.all(started(bucket, 3, order));
    await clock.advance(60_000);
    const again: number[] = [];
    const next = started(bucket, 4, again);
    await clock.advance(0);
    expect(again).toEqual([0, 1, 2]);
    await clock.advance(1000);
    await Promise.all(next);
    expect(again).toEqual([0, 1, 2, 3]);
  });

  it('an aborted taker rejects with the reason and gives its token back', async () => {
    const clock = new StepClock();
    const bucket = new RateBucket({ burst: 1, perSecond: 1, timeScale: 1, clock });
    await bucket.take();
    const ac = new AbortController();
    const queued = bucket.take(ac.signal);
    ac.abort(new Error('stop'));
    await expect(queued).rejects.toThrow('stop');
    // The token the aborted caller had reserved is the next caller's: one interval, not two.
    void bucket.take();
    expect(clock.sleeps).toEqual([1000, 1000]);
    await expect(bucket.take(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('refuses a bucket that could never let a request through', () => {
    const clock = new StepClock();
    expect(() => new RateBucket({ burst: 0, perSecond: 1, timeScale: 1, clock })).toThrow('burst');
    expect(() => new RateBucket({ burst: 1, perSecond: 0, timeScale: 1, clock })).toThrow('perSecond');
  });
});
