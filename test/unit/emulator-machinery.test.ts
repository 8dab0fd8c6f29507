// The machinery the three emulators share, tested once here with a minimal cloud of our own.
import { describe, expect, it } from 'vitest';
import type { EmuClock } from '../../emulators/shared/clock.ts';
import { scaledClock } from '../../emulators/shared/clock.ts';
import { FaultInjector, parseFaultRule } from '../../emulators/shared/faults.ts';
import { decodeToken, paginate } from '../../emulators/shared/paging.ts';
import { seededRng } from '../../emulators/shared/rng.ts';
import { startEmulator } from '../../emulators/shared/server.ts';
import { TokenBucket } from '../../emulators/shared/token-bucket.ts';
import type { CloudEmulator, EmulatorFactory } from '../../emulators/shared/types.ts';
import { parseDuration } from '../../src/lib/duration.ts';

function manualClock(): EmuClock & { advance(ms: number): void } {
  let t = 0;
  return { timeScale: 1, now: () => t, sleep: async () => {}, advance: (ms) => (t += ms) };
}

describe('token bucket', () => {
  it('allows the burst, refuses beyond it, refills at the rate', () => {
    const clock = manualClock();
    const b = new TokenBucket(5, 2, clock);
    expect(Array.from({ length: 7 }, () => b.tryTake())).toEqual([true, true, true, true, true, false, false]);
    clock.advance(1000);
    expect([b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, false]);
    clock.advance(60_000);
    expect(Array.from({ length: 6 }, () => b.tryTake()).filter(Boolean)).toHaveLength(5);
  });
});

describe('scaled clock', () => {
  it('runs emulated time N times faster', () => {
    let real = 1000;
    const c = scaledClock(50, () => real);
    real += 10;
    expect(c.now() - 1000).toBe(500);
  });
  it('refuses a non-positive scale', () => {
    expect(() => scaledClock(0)).toThrow(/timeScale/);
  });
});

describe('fault injection', () => {
  it('fires by rate, filters by action and stops after count', () => {
    const f = new FaultInjector(seededRng(7));
    f.add([{ action: 'CreateRoute', rate: 1, error: 'throttle', count: 2 }]);
    expect(f.pick('DescribeRouteTables')).toBeUndefined();
    expect(f.pick('CreateRoute')?.error).toBe('throttle');
    expect(f.pick('CreateRoute')?.error).toBe('throttle');
    expect(f.pick('CreateRoute')).toBeUndefined();
  });
  it('lets the first `after` matching requests through', () => {
    const f = new FaultInjector(seededRng(7));
    f.add([{ rate: 1, error: '5xx', after: 2 }]);
    expect([f.pick('A'), f.pick('A'), f.pick('A')?.error]).toEqual([undefined, undefined, '5xx']);
  });
  it('a rate of 0.3 fires about 30% of the time, reproducibly for a seed', () => {
    const run = () => {
      const f = new FaultInjector(seededRng(42));
      f.add([{ rate: 0.3, error: '5xx' }]);
      return Array.from({ length: 2000 }, () => f.pick('X') !== undefined);
    };
    const a = run();
    expect(run()).toEqual(a);
    const rate = a.filter(Boolean).length / a.length;
    expect(rate).toBeGreaterThan(0.25);
    expect(rate).toBeLessThan(0.35);
  });
  it('rejects malformed rules with the field named', () => {
    expect(() => parseFaultRule({ rate: 2, error: 'x' })).toThrow(/rate/);
    expect(() => parseFaultRule({ rate: 0.1 })).toThrow(/error/);
    expect(() => parseFaultRule({ rate: 0.1, error: 'x', count: -1 })).toThrow(/count/);
  });
});

describe('paging', () => {
  it('walks every item exactly once and refuses a forged token', () => {
    const all = Array.from({ length: 23 }, (_, i) => i);
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const p = paginate(all, token, 10);
      expect(p).not.toBeNull();
      seen.push(...p!.items);
      token = p!.nextToken;
      pages++;
    } while (token);
    expect(seen).toEqual(all);
    expect(pages).toBe(3);
    expect(paginate(all, 'garbage!', 10)).toBeNull();
    expect(decodeToken('')).toBe(0);
  });
});

describe('durations', () => {
  it('parses units and refuses bare numbers', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('60')).toThrow(/duration/);
    expect(() => parseDuration('5 m')).toThrow(/duration/);
  });
});

// A cloud of our own that echoes, to test the shared server: faults, admin API, counters.
const echoCloud: EmulatorFactory = () => {
  const cloud: CloudEmulator = {
    kind: 'aws',
    topology: { tables: ['echo'], credentials: { ECHO_KEY: 'x' }, credentialsRule: 'any' },
    identify: (req) => ({
      action: req.url.searchParams.get('Action') ?? 'none',
      client: String(req.headers['x-client'] ?? 'anon'),
      mutating: req.method === 'POST',
    }),
    handle: async (_req, action) => ({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ action }),
      outcome: 'ok',
    }),
    faultResponse: (error) => ({
      status: error === 'throttle' ? 503 : 500,
      contentType: 'text/plain',
      body: error,
      outcome: error,
    }),
    latencyMs: () => 0,
    admin: {
      state: () => ({ instances: [], tables: [] }),
      addInstances: () => [],
      terminateInstance: (id) => id === 'i-1',
      addRoute: (b) => b,
      deleteRoute: () => false,
      setQuota: () => {},
    },
  };
  return cloud;
};

describe('emulator server', () => {
  it('serves, counts per action/outcome/client, and plays faults', async () => {
    const emu = await startEmulator(echoCloud, { timeoutFaultMs: 50 });
    try {
      const ok = await fetch(`${emu.url}/?Action=Describe`, { headers: { 'x-client': 'a' } });
      expect(await ok.json()).toEqual({ action: 'Describe' });

      let r = await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ rules: [{ action: 'Create', rate: 1, error: 'throttle', count: 1 }] }),
      });
      expect(r.status).toBe(201);
      expect((await fetch(`${emu.url}/?Action=Create`, { method: 'POST' })).status).toBe(503);
      expect((await fetch(`${emu.url}/?Action=Create`, { method: 'POST' })).status).toBe(200);

      await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ action: 'Reset', rate: 1, error: 'reset' }),
      });
      await expect(fetch(`${emu.url}/?Action=Reset`)).rejects.toThrow();
      await fetch(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify({ action: 'Hang', rate: 1, error: 'timeout' }),
      });
      await expect(fetch(`${emu.url}/?Action=Hang`)).rejects.toThrow();

      const counts = (await (await fetch(`${emu.url}/_emulator/requests`)).json()) as {
        byAction: Record<string, Record<string, number>>;
        byClient: Record<string, unknown>;
      };
      expect(counts.byAction.Create).toEqual({ throttle: 1, ok: 1 });
      expect(counts.byAction.Reset).toEqual({ reset: 1 });
      expect(counts.byAction.Hang).toEqual({ timeout: 1 });
      expect(Object.keys(counts.byClient)).toContain('a');

      r = await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ rate: 5, error: 'x' }) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(/rate/);
      expect((await fetch(`${emu.url}/_emulator/instances/i-2`, { method: 'DELETE' })).status).toBe(404);
      expect((await fetch(`${emu.url}/_emulator/nope`)).status).toBe(404);
      expect((await fetch(`${emu.url}/_emulator/routes`, { method: 'POST', body: '{not json' })).status).toBe(400);
    } finally {
      await emu.close();
    }
  });
});
