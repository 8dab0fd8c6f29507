// The arithmetic of a bench bound: the fastest a cloud's own limits allow, from its profile's numbers. Each
// emulator's bound.ts builds its cloud's bound from these and its profile data; bench/common.ts `bound()`
// looks the cloud's up in the emulators' table, so a profile changed moves the bound with it.

/** Where a bound's numbers come from, for BENCHMARKS.md. */
export interface Bound {
  seconds: number;
  /** The binding term, e.g. "settle chain" or "CreateRoute bucket". */
  limitedBy: string;
}

/** Emulated seconds at which the i-th request (0-based) can take a token from a full bucket. */
export function bucketTime(i: number, capacity: number, perSecond: number): number {
  return Math.max(0, (i + 1 - capacity) / perSecond);
}

/** E[max of m draws of min + U(0,1)·spread] = min + spread·m/(m+1). */
export function expectedMaxUniform(m: number, minMs: number, spreadMs: number): number {
  return minMs + (spreadMs * m) / (m + 1);
}

/**
 * E[max_i (t_i + D_i)], D_i ~ U(lo, hi) independent: ∫ (1 − Π_i F(x − t_i)) dx, on a 10 ms grid. Exact up
 * to the grid; cheap for 10,000 terms because only the issue times within (x − hi, x − lo] contribute a
 * factor below 1.
 */
export function expectedLastDone(issueS: number[], loS: number, hiS: number): number {
  const t = [...issueS].sort((a, b) => a - b);
  const last = t[t.length - 1] ?? 0;
  const step = 0.01;
  let e = (t[0] ?? 0) + loS; // max ≥ every t_i + lo for sure
  for (let x = e; x < last + hiS; x += step) {
    let p = 1;
    for (let i = t.length - 1; i >= 0; i--) {
      const d = x - (t[i] as number);
      if (d >= hiS) break; // sorted: every earlier request is surely done
      p *= d <= loS ? 0 : (d - loS) / (hiS - loS);
      if (p === 0) break;
    }
    e += (1 - p) * step;
  }
  return e;
}

/** A clock-minute rate window: `perMinute` requests in each minute, the i-th in minute ⌊i/perMinute⌋. */
export function perMinuteWindow(perMinute: number): (i: number) => number {
  return (i) => Math.floor(i / perMinute) * 60;
}
