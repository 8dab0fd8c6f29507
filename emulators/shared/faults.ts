import type { Rng } from './rng.ts';

// Fault injection by rule, for tests, benchmarks and the chaos run. `error` is a generic fault the shared
// server knows how to play (throttle, 5xx, timeout, reset) or a provider error code the cloud emulator
// renders in its own wire format.
export interface FaultRule {
  /** Only this action (e.g. CreateRouteEntry); all actions when absent. */
  action?: string;
  /** Probability per matching request, 0..1. */
  rate: number;
  error: string;
  /** Stop after injecting this many times. */
  count?: number;
  /** Let this many matching requests through first (e.g. fail the second page of a listing). */
  after?: number;
}

export const GENERIC_FAULTS = ['throttle', '5xx', 'timeout', 'reset'] as const;
// Hostile (corrupted) responses are listed in hostile.ts: truncate, empty-body-200, html-200, empty-listing,
// error-200, missing-fields, wrong-types; hostile paging in paging.ts: page-short, page-overlap,
// page-endless, page-repeat.

export function parseFaultRule(x: unknown): FaultRule {
  if (typeof x !== 'object' || x === null) throw new Error('fault rule: must be an object');
  const r = x as Record<string, unknown>;
  if (typeof r.rate !== 'number' || !(r.rate >= 0 && r.rate <= 1))
    throw new Error('fault rule.rate: must be a number in 0..1');
  if (typeof r.error !== 'string' || r.error === '')
    throw new Error('fault rule.error: must be throttle, 5xx, timeout, reset or a provider error code');
  if (r.action !== undefined && typeof r.action !== 'string') throw new Error('fault rule.action: must be a string');
  if (r.count !== undefined && !(Number.isInteger(r.count) && (r.count as number) > 0))
    throw new Error('fault rule.count: must be a positive integer');
  if (r.after !== undefined && !(Number.isInteger(r.after) && (r.after as number) >= 0))
    throw new Error('fault rule.after: must be a non-negative integer');
  return {
    rate: r.rate,
    error: r.error,
    ...(r.action ? { action: r.action as string } : {}),
    ...(r.count ? { count: r.count as number } : {}),
    ...(r.after ? { after: r.after as number } : {}),
  };
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  private readonly rng: Rng;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  add(rules: FaultRule[]): void {
    this.rules.push(...rules.map((r) => ({ ...r })));
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /**
   * The first rule that fires for this action, if any. `also`: more specific names the request answers to
   * as well (the Kubernetes emulator's `patch:nodes:NAME` for one object).
   */
  pick(action: string, ...also: string[]): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.action !== undefined && r.action !== action && !also.includes(r.action)) continue;
      if (r.count !== undefined && r.count <= 0) continue;
      if (r.after !== undefined && r.after > 0) {
        r.after--;
        continue;
      }
      if (this.rng() < r.rate) {
        if (r.count !== undefined) r.count--;
        return r;
      }
    }
    return undefined;
  }
}
