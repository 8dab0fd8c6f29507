import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  resolveRetryPolicy,
  retrying,
  scaleRetryPolicy,
  timeScaleOf,
  type RetryPolicy,
} from '../../providers/retry.ts';
import { ProviderError, RETRYABLE_KINDS, type ApiObserver, type ProviderErrorKind } from '../../providers/types.ts';

const KINDS: ProviderErrorKind[] = [
  'throttled',
  'busy',
  'quota',
  'alreadyExists',
  'notFound',
  'invalid',
  'auth',
  'unavailable',
];
const TINY: RetryPolicy = { baseMs: 0.1, capMs: 0.5, attempts: 5 };

function recorder(): { observer: ApiObserver; retries: Array<[string, string]> } {
  const retries: Array<[string, string]> = [];
  return { retries, observer: { request() {}, retry: (a, k) => retries.push([a, k]) } };
}

const fail = (kind: ProviderErrorKind) => new ProviderError(kind, `Code.${kind}`, `${kind} failure`, { action: 'Act' });

describe('retrying', () => {
  it('retries only the retryable kinds, and reports each retry taken', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: 3 }), async (kind, failures) => {
        const { observer, retries } = recorder();
        let calls = 0;
        const run = retrying(
          'Act',
          async () => {
            calls++;
            if (calls <= failures) throw fail(kind);
            return 'done';
          },
          { policy: TINY, observer },
        );
        if (failures === 0) {
          await expect(run).resolves.toBe('done');
          expect(calls).toBe(1);
        } else if (RETRYABLE_KINDS.has(kind)) {
          await expect(run).resolves.toBe('done');
          expect(calls).toBe(failures + 1);
          expect(retries).toEqual(Array.from({ length: failures }, () => ['Act', kind]));
        } else {
          await expect(run).rejects.toMatchObject({ kind });
          expect(calls).toBe(1);
          expect(retries).toEqual([]);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('never makes more than `attempts` calls and rethrows the last error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('throttled', 'busy', 'unavailable') as fc.Arbitrary<ProviderErrorKind>,
        async (attempts, kind) => {
          const { observer, retries } = recorder();
          let calls = 0;
          const err = await retrying(
            'Act',
            async () => {
              calls++;
              throw fail(kind);
            },
            { policy: { ...TINY, attempts }, observer },
          ).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ProviderError);
          expect((err as ProviderError).kind).toBe(kind);
          expect(calls).toBe(attempts);
          expect(retries).toHaveLength(attempts - 1);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('does not retry errors that are not ProviderErrors', async () => {
    let calls = 0;
    const boom = new Error('bug');
    await expect(
      retrying(
        'Act',
        async () => {
          calls++;
          throw boom;
        },
        { policy: TINY },
      ),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
  });

  it('stops waiting the moment the signal aborts, with the abort reason', async () => {
    const ac = new AbortController();
    const reason = new Error('shutting down');
    let calls = 0;
    // A backoff of an hour: only the abort can end it.
    const run = retrying(
      'Act',
      async () => {
        calls++;
        queueMicrotask(() => ac.abort(reason));
        throw fail('throttled');
      },
      { policy: { baseMs: 3_600_000, capMs: 3_600_000, attempts: 3 }, signal: ac.signal },
    );
    await expect(run).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('does not start when the signal has already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    let calls = 0;
    await expect(retrying('Act', async () => void calls++, { policy: TINY, signal: ac.signal })).rejects.toThrow(
      'gone',
    );
    expect(calls).toBe(0);
  });

  it('gives up once maxRetryTimeMs has passed', async () => {
    let calls = 0;
    const err = await retrying(
      'Act',
      async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        throw fail('busy');
      },
      { policy: { baseMs: 0.1, capMs: 0.1, attempts: 1000, maxRetryTimeMs: 1 } },
    ).catch((e: unknown) => e);
    expect((err as ProviderError).kind).toBe('busy');
    expect(calls).toBe(1);
  });
});

describe('retry policy', () => {
  it('defaults to the production policy; the caller tunes it and a provider override wins', () => {
    expect(resolveRetryPolicy()).toEqual({ baseMs: 200, capMs: 10_000, attempts: 8 });
    expect(resolveRetryPolicy({ attempts: 3 })).toEqual({ ...DEFAULT_RETRY_POLICY, attempts: 3 });
    expect(resolveRetryPolicy({ attempts: 3, baseMs: 50 }, { attempts: 5, capMs: undefined })).toEqual({
      baseMs: 50,
      capMs: 10_000,
      attempts: 5,
    });
  });

  it('rejects nonsense with a message naming the field', () => {
    expect(() => resolveRetryPolicy({ attempts: 0 })).toThrow(/^retry\.attempts/);
    expect(() => resolveRetryPolicy({ attempts: 2.5 })).toThrow(/^retry\.attempts/);
    expect(() => resolveRetryPolicy({ baseMs: -1 })).toThrow(/^retry\.baseMs/);
    expect(() => resolveRetryPolicy({ baseMs: 500, capMs: 100 })).toThrow(/^retry\.capMs/);
    expect(() => resolveRetryPolicy({ maxRetryTimeMs: 0 })).toThrow(/^retry\.maxRetryTimeMs/);
    expect(() => timeScaleOf({ timeScale: 0 })).toThrow(/^timeScale/);
    expect(() => timeScaleOf({ timeScale: Number.NaN })).toThrow(/^timeScale/);
    expect(timeScaleOf({})).toBe(1);
  });

  it('divides every wait by the time scale and keeps the attempts', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1000, noNaN: true }), fc.boolean(), (scale, withMax) => {
        const p: RetryPolicy = {
          baseMs: 200,
          capMs: 10_000,
          attempts: 8,
          ...(withMax ? { maxRetryTimeMs: 30_000 } : {}),
        };
        const s = scaleRetryPolicy(p, scale);
        expect(s.attempts).toBe(8);
        expect(s.baseMs * scale).toBeCloseTo(200, 6);
        expect(s.capMs * scale).toBeCloseTo(10_000, 6);
        if (withMax) expect((s.maxRetryTimeMs as number) * scale).toBeCloseTo(30_000, 6);
        else expect(s.maxRetryTimeMs).toBeUndefined();
      }),
    );
  });
});
