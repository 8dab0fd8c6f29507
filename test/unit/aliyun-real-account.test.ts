// What real Alibaba Cloud accounts do that a first reading of the API misses (issue 16, items 10-14), in the
// pure parts of the Aliyun plug-in: endpoints per region, error codes seen in the wild, per-entry batch
// results, blackholes from documented fields only, and the emulator's per-account rate windows.
import { describe, expect, it } from 'vitest';
import { accountOf, RateWindows } from '../../emulators/aliyun/rate-windows.ts';
import { createSettlePacer } from '../../providers/aliyun/settle-pacer.ts';
import { settleReadsPerMinute } from '../../providers/aliyun/config.ts';
import { endpointFor, isRegionId } from '../../providers/aliyun/endpoints.ts';
import { configFor } from '../../providers/plugins.ts';
import { validateConfig } from '../../src/config.ts';
import { kindOfCode, kindOfEntryFailure } from '../../providers/aliyun/errors.ts';
import { toRoute } from '../../providers/aliyun/mark.ts';
import type { RouteEntryWire } from '../../providers/aliyun/schemas.ts';
import { ProviderError } from '../../providers/types.ts';

describe('aliyun endpoints (item 10)', () => {
  it('VPC and ECS are regional; Quota Center is one endpoint for all', () => {
    for (const region of ['cn-hangzhou', 'eu-central-1', 'ap-southeast-5', 'cn-shanghai-finance-1']) {
      expect(endpointFor('vpc', region)).toBe(`https://vpc.${region}.aliyuncs.com`);
      expect(endpointFor('ecs', region)).toBe(`https://ecs.${region}.aliyuncs.com`);
      expect(endpointFor('quotas', region)).toBe('https://quotas.aliyuncs.com');
    }
  });

  it('the configured endpoint wins for every product', () => {
    for (const p of ['vpc', 'ecs', 'quotas'] as const)
      expect(endpointFor(p, 'eu-central-1', 'http://127.0.0.1:9')).toBe('http://127.0.0.1:9');
  });

  it('a region that is not a region id never becomes a host name', () => {
    for (const bad of ['', 'cn', 'CN-HANGZHOU', 'evil.com/x', 'cn-hangzhou.attacker', 'cn_hangzhou']) {
      expect(isRegionId(bad)).toBe(false);
      expect(() => endpointFor('vpc', bad)).toThrow(/^provider\.region: .* is not an Alibaba Cloud region id/);
    }
  });
});

const configWith = (provider: Record<string, unknown>) =>
  validateConfig({
    cluster: 'c',
    clusterCIDR: '10.244.0.0/16',
    store: { type: 'memory' },
    provider: { type: 'aliyun', region: 'cn-hangzhou', vpcId: 'vpc-1', ...provider },
  });

describe('aliyun config (items 10, 13)', () => {
  it('refuses a region that is not a region id, in one line naming the field', () => {
    expect(() => configWith({ region: 'vpc.aliyuncs.com' })).toThrow(
      /^provider\.region: must be an Alibaba Cloud region id such as cn-hangzhou or eu-central-1$/m,
    );
    expect(configWith({ region: 'eu-central-1' }).provider.region).toBe('eu-central-1');
  });

  it('settle reads per 60 s: the share of the account allowance, 0.8 of 1,500 unless configured', () => {
    expect(settleReadsPerMinute(configFor('aliyun', configWith({}).provider))).toBe(1200);
    const tuned = configWith({ aliyun: { readsPerMinute: 3000, settleReadShare: 0.25 } });
    expect(settleReadsPerMinute(configFor('aliyun', tuned.provider))).toBe(750);
    expect(() => configWith({ aliyun: { settleReadShare: 0 } })).toThrow(
      /provider\.aliyun\.settleReadShare: must be above 0/,
    );
    expect(() => configWith({ aliyun: { readsPerMinute: 1.5 } })).toThrow(
      /provider\.aliyun\.readsPerMinute: must be a whole number/,
    );
  });
});

describe('aliyun error codes (items 11, 12)', () => {
  it('retries the codes real accounts answer while a resource is between states or locked', () => {
    for (const code of [
      'IncorrectInstanceStatus',
      'IncorrectVSwitchStatus',
      'IncorrectHaVipStatus',
      'IncorrectStatus.VpcRouteTable',
      'IncorrectStatus.RouteTableStatus',
      'LastTokenProcessing',
      'OperationFailed.DistibuteLock',
      'TaskConflict',
      'OperationConflict',
    ]) {
      expect(kindOfCode(code), code).toBe('busy');
      expect(new ProviderError(kindOfCode(code), code, 'm', { action: 'a' }).retryable, code).toBe(true);
    }
    expect(kindOfCode('ServiceUnavailable')).toBe('unavailable');
    expect(kindOfCode('Throttling.User')).toBe('throttled');
  });

  it('maps per-entry FailedCode values to done, retry or quota', () => {
    expect(kindOfEntryFailure('VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE', '')).toBe('alreadyExists');
    expect(kindOfEntryFailure('VPC_ROUTER_ENTRY_NOT_EXIST', '')).toBe('notFound');
    expect(kindOfEntryFailure('VPC_ROUTE_ENTRY_STATUS_ERROR', '')).toBe('busy');
    expect(kindOfEntryFailure('TaskConflict', '')).toBe('busy');
    // The per-entry quota code is undocumented: a code or a message that speaks of the quota is the quota.
    expect(kindOfEntryFailure('QuotaExceeded', '')).toBe('quota');
    expect(kindOfEntryFailure('VPC_ROUTE_ENTRY_QUOTA_EXCEEDED', '')).toBe('quota');
    expect(kindOfEntryFailure('VPC_ROUTE_ENTRY_NUM_LIMIT_EXCEED', '')).toBe('quota');
    expect(kindOfEntryFailure('SOME_NEW_CODE', 'Route entry quota exceeded in this route table.')).toBe('quota');
    expect(kindOfEntryFailure('InvalidNextHop.NotFound', 'Specified next hop does not exist.')).toBe('notFound');
    expect(kindOfEntryFailure('InvalidCidrBlock', 'Specified CIDR block is not valid.')).toBe('invalid');
  });
});

describe('aliyun blackholes from documented fields only (item 14)', () => {
  const entry = (type: string, id: string, enabled: number): RouteEntryWire => ({
    RouteEntryId: 'rte-1',
    RouteEntryName: 'routesync-c-10-244-1-0-24',
    Description: 'routesync:c',
    DestinationCidrBlock: '10.244.1.0/24',
    Type: 'Custom',
    Status: 'Available',
    NextHops: { NextHop: [{ NextHopType: type, NextHopId: id, Enabled: enabled }] },
  });

  it('an instance hop is never a blackhole by Enabled (documented for router interfaces only)', () => {
    const r = toRoute(entry('Instance', 'i-1', 0), 'vtb-1', 'c');
    expect(r).toMatchObject({ state: 'active', target: 'i-1', marked: true });
  });

  it('a router-interface hop with Enabled 0 is a blackhole', () => {
    expect(toRoute(entry('RouterInterface', 'ri-1', 0), 'vtb-1', 'c').state).toBe('blackhole');
    expect(toRoute(entry('RouterInterface', 'ri-1', 1), 'vtb-1', 'c').state).toBe('active');
  });
});

describe('aliyun emulator rate windows (item 13)', () => {
  it('count per main account, per API, per 60 s window, shared by every key of the account', () => {
    let now = 1_000_000;
    const clock = { timeScale: 1, now: () => now, sleep: async () => undefined };
    const w = new RateWindows({ reads: 3, writes: 2, byAction: { ModifyRouteEntry: 1 } }, clock);
    expect(accountOf('ak-1')).toBe('main');
    expect(accountOf('ram-user@acct-2')).toBe('acct-2');
    expect([1, 2, 3, 4].map(() => w.tryTake('ak-1', 'DescribeRouteEntryList', false))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    // Another key of the account: the same window. Another account, or another API: its own.
    expect(w.tryTake('ak-2', 'DescribeRouteEntryList', false)).toBe(false);
    expect(w.tryTake('u@acct-2', 'DescribeRouteEntryList', false)).toBe(true);
    expect(w.tryTake('ak-1', 'DescribeInstances', false)).toBe(true);
    expect(w.tryTake('ak-1', 'ModifyRouteEntry', true)).toBe(true);
    expect(w.tryTake('ak-2', 'ModifyRouteEntry', true)).toBe(false);
    expect(w.tryTake('ak-1', 'CreateRouteEntries', true)).toBe(true);
    now += 59_999;
    expect(w.tryTake('ak-1', 'DescribeRouteEntryList', false)).toBe(false);
    now += 1;
    expect(w.tryTake('ak-1', 'DescribeRouteEntryList', false)).toBe(true);
  });
});

describe('aliyun settle pacer (item 13)', () => {
  it('lets a burst through up to the budget, then waits for the oldest read to leave the 60 s window', async () => {
    let now = 0;
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      now += ms;
    };
    const p = createSettlePacer(3, 60_000, 100, sleep, () => now);
    const never = new AbortController().signal;
    for (let i = 0; i < 3; i++) await p.take(never);
    expect(waits).toEqual([]);
    now = 10_000;
    await p.take(never);
    expect(waits).toEqual([50_000]);
    expect(now).toBe(60_000);
  });

  it('spaces reads out while throttled, twice as far per refusal, up to 16x, and recovers', async () => {
    let now = 0;
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      now += ms;
    };
    const p = createSettlePacer(Number.POSITIVE_INFINITY, 60_000, 100, sleep, () => now);
    const never = new AbortController().signal;
    for (let i = 0; i < 6; i++) p.throttled();
    await p.take(never);
    await p.take(never);
    expect(waits).toEqual([1600]);
    for (let i = 0; i < 40; i++) p.ok();
    now += 10_000;
    waits.length = 0;
    await p.take(never);
    await p.take(never);
    expect(waits).toEqual([]);
  });
});
