// GceCaller.once owns each call's deadline (gax gets an infinite one, so it arms no timer that would keep
// the response alive), and the slim proto set the Compute clients are built from.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { GceCaller, type SdkCallOptions } from '../../providers/gce/call.ts';
import { slimComputeJson, slimGaxInstance, USED_METHODS } from '../../providers/gce/slim-protos.ts';
import { ProviderError, type ApiObserver } from '../../providers/types.ts';

const POLICY = { attempts: 1, baseMs: 1, capMs: 1 };

/** An SDK call that only ends when its signal aborts, like a request to an endpoint that went quiet. */
function hanging(seen: SdkCallOptions[]) {
  return (o: SdkCallOptions) => {
    seen.push(o);
    return new Promise<never>((_, reject) =>
      o.signal.addEventListener('abort', () => reject(new Error('The user aborted a request.')), { once: true }),
    );
  };
}

describe('gce caller', () => {
  it('gives gax no deadline of its own and ends a silent call itself as a retryable DEADLINE_EXCEEDED', async () => {
    const outcomes: string[] = [];
    const observer: ApiObserver = { request: (_a, outcome) => outcomes.push(outcome), retry: () => {} };
    const caller = new GceCaller(observer, POLICY, 20);
    const seen: SdkCallOptions[] = [];
    const err = await caller.once('routes.list', hanging(seen)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect({ kind: (err as ProviderError).kind, code: (err as ProviderError).code }).toEqual({
      kind: 'unavailable',
      code: 'DEADLINE_EXCEEDED',
    });
    expect(seen.map((o) => [o.timeout, o.maxRetries])).toEqual([[Number.POSITIVE_INFINITY, 0]]);
    expect(outcomes).toEqual(['DEADLINE_EXCEEDED']);
  });

  it("ends the call when the caller's signal aborts and rethrows the caller's reason", async () => {
    const caller = new GceCaller(undefined, POLICY, 60_000);
    const ac = new AbortController();
    const seen: SdkCallOptions[] = [];
    const p = caller.once('routes.list', hanging(seen), ac.signal);
    ac.abort(new Error('pass cancelled'));
    await expect(p).rejects.toThrow('pass cancelled');
    expect(seen[0]?.signal.aborted).toBe(true);
  });

  it('a finished call leaves nothing armed on the caller signal', async () => {
    const caller = new GceCaller(undefined, POLICY, 60_000);
    const ac = new AbortController();
    let inner: AbortSignal | undefined;
    await expect(
      caller.once(
        'projects.get',
        async (o) => {
          inner = o.signal;
          return 'ok';
        },
        ac.signal,
      ),
    ).resolves.toBe('ok');
    ac.abort();
    // Our listener was removed when the call settled: aborting the pass later does not reach the old call.
    expect(inner?.aborted).toBe(false);
  });
});

describe('gce slim protos', () => {
  const require = createRequire(import.meta.url);
  const full = require('@google-cloud/compute/build/protos/protos.json') as object;
  /** The namespace at `path` (nested names), or a test failure naming where it stopped. */
  const ns = (
    root: unknown,
    ...path: string[]
  ): { nested?: Record<string, unknown>; methods?: Record<string, unknown> } => {
    let cur = root as { nested?: Record<string, unknown> } | undefined;
    for (const p of path) {
      cur = cur?.nested?.[p] as typeof cur;
      if (!cur) throw new Error(`no ${path.join('.')} (stopped at ${p})`);
    }
    return cur as { nested?: Record<string, unknown>; methods?: Record<string, unknown> };
  };
  const V1 = ['google', 'cloud', 'compute', 'v1'];

  it('keeps the methods routesync calls and the types they reach, nothing else of Compute', () => {
    const slim = slimComputeJson(full as never);
    expect(Object.keys(ns(slim, 'google', 'cloud', 'compute').nested ?? {})).toEqual(['v1']);
    for (const [svc, methods] of Object.entries(USED_METHODS))
      expect(Object.keys(ns(slim, ...V1, svc).methods ?? {}).sort()).toEqual([...methods].sort());
    expect(() => ns(slim, ...V1, 'Firewalls')).toThrow('no google.cloud.compute.v1.Firewalls');
    expect(ns(slim, ...V1, 'Route')).toBeDefined();
    expect(ns(slim, ...V1, 'InstanceAggregatedList')).toBeDefined();
    // The full set is untouched (the clients share it through the require cache).
    expect(Object.keys(ns(full, ...V1, 'Routes').methods ?? {}).length).toBeGreaterThan(4);
  });

  it('builds a Root in which every kept service resolves', () => {
    const gax = slimGaxInstance() as unknown as {
      protobuf: { Root: { fromJSON(j: unknown): { lookupService(n: string): { resolveAll(): unknown } } } };
    };
    const root = gax.protobuf.Root.fromJSON(slimComputeJson(full as never));
    for (const svc of Object.keys(USED_METHODS))
      expect(() => root.lookupService(`google.cloud.compute.v1.${svc}`).resolveAll()).not.toThrow();
  });

  it('names a method the installed SDK does not have instead of building a partial client', () => {
    expect(() => slimComputeJson(full as never, { Routes: ['Teleport'] })).toThrow('no method Routes.Teleport');
  });
});
