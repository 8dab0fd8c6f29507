// The chaos run's invariant checks: each passes on a clean record and catches a crafted violation.
import { describe, expect, it } from 'vitest';
import {
  CLOUD_ACTIONS,
  checkI1,
  checkI2,
  checkI3,
  checkI4,
  checkDeposedWrites,
  frozenSends,
  withDeposed,
  checkI5,
  checkI6,
  formatResult,
  liveInstanceIds,
  parseEtcdAllocations,
  quotaSamples,
  type EmuState,
  type LeaderSample,
  type LoggedRequest,
} from '../../bench/chaos/invariants.ts';

const BASE = '/routesync/chaos/';
const CIDR = '172.16.0.0/16';
const TAG = { key: 'routesync-cluster', value: 'chaos' };

function etcdKvs(pairs: Array<[string, string]>): Record<string, string> {
  const kvs: Record<string, string> = {};
  for (const [id, subnet] of pairs) {
    kvs[`${BASE}subnets/${subnet.replace('/', '-')}`] = JSON.stringify({
      instanceId: id,
      name: id,
      privateIp: '10.0.0.1',
      allocatedAt: 1,
    });
    kvs[`${BASE}instances/${id}`] = subnet;
  }
  kvs[`${BASE}election/leader/694d7a`] = 'host/1';
  return kvs;
}

const ALLOC = etcdKvs([
  ['i-1', '172.16.0.0/24'],
  ['i-2', '172.16.1.0/24'],
]);

function state(
  routes: Array<{ destination: string; target: string | null; nextHop?: string; state?: string }>,
  table = 'rtb-1',
): EmuState {
  return {
    instances: [
      { id: 'i-1', state: 'running', tags: { [TAG.key]: TAG.value } },
      { id: 'i-2', state: 'running', tags: { [TAG.key]: TAG.value } },
      { id: 'i-3', state: 'terminated', tags: { [TAG.key]: TAG.value } },
      { id: 'i-other', state: 'running', tags: { [TAG.key]: 'another' } },
    ],
    tables: [
      { id: table, quota: 10, routes: [{ destination: '10.0.0.0/16', target: null, nextHop: 'local' }, ...routes] },
    ],
  };
}

const GOOD_ROUTES = [
  { destination: '172.16.0.0/24', target: 'i-1', nextHop: 'i-1', state: 'active' },
  { destination: '172.16.1.0/24', target: 'i-2', nextHop: 'i-2', state: 'active' },
];

const req = (at: number, client: string, action: string, outcome = 'ok', mutating = false): LoggedRequest => ({
  at,
  client,
  action,
  outcome,
  mutating,
});

describe('liveInstanceIds', () => {
  it('keeps running VMs with the cluster tag only', () => {
    expect(liveInstanceIds(state([]), TAG)).toEqual(['i-1', 'i-2']);
  });
});

describe('I1 one subnet, one VM', () => {
  const live = ['i-1', 'i-2'];
  it('passes when every live VM holds one subnet and the two key sets agree', () => {
    const r = checkI1(parseEtcdAllocations(ALLOC, BASE), live, CIDR, 24);
    expect(r.pass).toBe(true);
    expect(formatResult(r)).toMatch(/^I1 one subnet, one VM: PASS \(2 live VMs, 2 with exactly one subnet/);
  });
  it('catches one subnet named by two VMs', () => {
    const kvs = { ...ALLOC, [`${BASE}instances/i-2`]: '172.16.0.0/24' };
    const r = checkI1(parseEtcdAllocations(kvs, BASE), live, CIDR, 24);
    expect(r.pass).toBe(false);
    expect(r.details.join('\n')).toMatch(/subnet 172\.16\.0\.0\/24 is held by 2 VMs/);
  });
  it('catches one VM holding two subnets', () => {
    const kvs = { ...ALLOC, [`${BASE}subnets/172.16.9.0-24`]: JSON.stringify({ instanceId: 'i-1' }) };
    const r = checkI1(parseEtcdAllocations(kvs, BASE), live, CIDR, 24);
    expect(r.pass).toBe(false);
    expect(r.details.join('\n')).toMatch(/VM i-1 holds 2 subnets/);
  });
  it('catches a live VM without a subnet', () => {
    const r = checkI1(parseEtcdAllocations(ALLOC, BASE), [...live, 'i-4'], CIDR, 24);
    expect(r.pass).toBe(false);
    expect(r.details).toContain('live VM i-4 has no subnet');
  });
  it('never reads an unreadable value as "nothing there"', () => {
    const kvs = { ...ALLOC, [`${BASE}subnets/172.16.5.0-24`]: '{not json' };
    const r = checkI1(parseEtcdAllocations(kvs, BASE), live, CIDR, 24);
    expect(r.pass).toBe(false);
    expect(r.details[0]).toMatch(/holds no readable allocation/);
  });
  it('catches a subnet outside the cluster CIDR', () => {
    const kvs = etcdKvs([
      ['i-1', '10.9.0.0/24'],
      ['i-2', '172.16.1.0/24'],
    ]);
    expect(checkI1(parseEtcdAllocations(kvs, BASE), live, CIDR, 24).pass).toBe(false);
  });
});

describe('I2 own only ours', () => {
  const f = { table: 'rtb-1', destination: '172.16.255.0/24', nextHop: 'nat-1', since: 100 };
  const withForeign = state([...GOOD_ROUTES, { destination: '172.16.255.0/24', target: null, nextHop: 'nat-1' }]);
  it('passes when the foreign route stays in every snapshot after its injection', () => {
    const r = checkI2(
      [f],
      [
        { at: 50, state: state(GOOD_ROUTES) },
        { at: 150, state: withForeign },
        { at: 250, state: withForeign },
      ],
    );
    expect(r.pass).toBe(true);
    expect(r.summary).toMatch(/^1 foreign routes, 2 checks over 3 snapshots, 0 touched/);
  });
  it('catches a foreign route deleted', () => {
    const r = checkI2(
      [f],
      [
        { at: 150, state: withForeign },
        { at: 250, state: state(GOOD_ROUTES) },
      ],
    );
    expect(r.pass).toBe(false);
    expect(r.details[0]).toMatch(/gone at/);
  });
  it('catches a foreign route re-pointed', () => {
    const r = checkI2(
      [f],
      [{ at: 150, state: state([...GOOD_ROUTES, { destination: '172.16.255.0/24', target: 'i-1', nextHop: 'i-1' }]) }],
    );
    expect(r.pass).toBe(false);
    expect(r.details[0]).toMatch(/now → i-1 instead of nat-1/);
  });
  it('fails when nothing was injected: no proof', () => {
    expect(checkI2([], [{ at: 1, state: withForeign }]).pass).toBe(false);
  });
});

describe('I3 no read, no delete', () => {
  const aws = CLOUD_ACTIONS.aws;
  it('passes when deletes come only after a successful inventory read', () => {
    const log = [
      req(1, 'a', 'DescribeInstances', 'RequestLimitExceeded'),
      req(2, 'a', 'DescribeInstances'),
      req(3, 'a', 'DeleteRoute', 'ok', true),
    ];
    const r = checkI3(log, aws);
    expect(r.pass).toBe(true);
    expect(r.summary).toBe('1 failed inventory reads in 1 windows, 1 deletes/replaces, 0 inside a window');
  });
  it('catches a delete between a failed read and the next good one', () => {
    const log = [
      req(1, 'a', 'DescribeInstances', 'InternalError'),
      req(2, 'a', 'DeleteRoute', 'ok', true),
      req(3, 'a', 'DescribeInstances'),
    ];
    const r = checkI3(log, aws);
    expect(r.pass).toBe(false);
    expect(r.details[0]).toMatch(/^a sent DeleteRoute/);
  });
  it('catches a replace after a timeout, in any order of the log', () => {
    const log = [req(5, 'a', 'ReplaceRoute', 'ok', true), req(4, 'a', 'DescribeInstances', 'timeout')];
    expect(checkI3(log, aws).pass).toBe(false);
  });
  it('keeps windows per client: another client’s failed read does not hold this one’s deletes', () => {
    const log = [
      req(1, 'b', 'DescribeInstances', 'reset'),
      req(2, 'a', 'DescribeInstances'),
      req(3, 'a', 'DeleteRoute', 'ok', true),
    ];
    expect(checkI3(log, aws).pass).toBe(true);
  });
  it('hostile pages: endless or repeating tokens open a window; overlap (and, without a reported total, short) do not', () => {
    for (const bad of ['hostile:page-endless', 'hostile:page-repeat']) {
      expect(checkI3([req(1, 'a', 'DescribeInstances', bad), req(2, 'a', 'DeleteRoute', 'ok', true)], aws).pass).toBe(
        false,
      );
    }
    expect(
      checkI3([req(1, 'a', 'DescribeInstances', 'hostile:page-overlap'), req(2, 'a', 'DeleteRoute', 'ok', true)], aws)
        .pass,
    ).toBe(true);
    expect(
      checkI3([req(1, 'a', 'DescribeInstances', 'hostile:page-short'), req(2, 'a', 'DeleteRoute', 'ok', true)], aws)
        .pass,
    ).toBe(true);
    // Aliyun reports TotalCount: its short listing is a failed read the controller must see.
    expect(
      checkI3(
        [req(1, 'a', 'DescribeInstances', 'hostile:page-short'), req(2, 'a', 'DeleteRouteEntries', 'ok', true)],
        CLOUD_ACTIONS.aliyun,
      ).pass,
    ).toBe(false);
  });
  it('knows each cloud’s actions', () => {
    expect(
      checkI3(
        [req(1, 'a', 'DescribeInstances', 'Throttling.User'), req(2, 'a', 'DeleteRouteEntries', 'ok', true)],
        CLOUD_ACTIONS.aliyun,
      ).pass,
    ).toBe(false);
    expect(
      checkI3(
        [req(1, 'a', 'instances.aggregatedList', 'rateLimitExceeded'), req(2, 'a', 'routes.delete', 'ok', true)],
        CLOUD_ACTIONS.gce,
      ).pass,
    ).toBe(false);
  });
});

describe('I4 one writer', () => {
  const ids = { a: 'host/1', b: 'host/2' };
  const polls = (from: number, to: number, leader: string | null, every = 200): LeaderSample[] =>
    Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => ({ at: from + i * every, leader }));
  const handover = [...polls(0, 5000, 'host/1'), ...polls(7000, 12_000, 'host/2')];
  it('passes when each write comes from the leader of its time', () => {
    const w = [
      req(1000, 'a', 'CreateRoute', 'ok', true),
      req(5400, 'a', 'CreateRoute', 'ok', true),
      req(9000, 'b', 'DeleteRoute', 'ok', true),
    ];
    const r = checkI4(w, handover, ids, 1000);
    expect(r.pass).toBe(true);
    expect(r.summary).toMatch(
      /^3 writes by 2 clients, 2 leaders over \d+ answered polls \(0 unanswered\), 0 by a non-leader/,
    );
  });
  it('catches a write by the standby while the other leads', () => {
    const r = checkI4([req(2000, 'b', 'CreateRoute', 'ok', true)], handover, ids, 1000);
    expect(r.pass).toBe(false);
    expect(r.details[0]).toMatch(/by b \(host\/2\) while host\/1 led/);
  });
  it('catches a write by the old leader well after the handover', () => {
    expect(checkI4([req(9000, 'a', 'CreateRoute', 'ok', true)], handover, ids, 1000).pass).toBe(false);
  });
  it('catches a write while no one leads, and by a client with no identity', () => {
    expect(checkI4([req(1000, 'a', 'CreateRoute', 'ok', true)], polls(0, 3000, null), ids, 500).pass).toBe(false);
    expect(checkI4([req(1000, 'z', 'CreateRoute', 'ok', true)], polls(0, 3000, 'host/1'), ids, 500).pass).toBe(false);
  });
  it('accepts the lease holder’s writes while etcd is silent, and no one else’s', () => {
    const silent: LeaderSample[] = [
      ...polls(0, 2000, 'host/1'),
      ...polls(2200, 6000, 'x').map((s) => ({ at: s.at, error: 'unavailable' })),
      ...polls(6200, 8000, 'host/1'),
    ];
    const r = checkI4([req(4000, 'a', 'CreateRoute', 'ok', true)], silent, ids, 500);
    expect(r.pass).toBe(true);
    expect(r.summary).toMatch(/1 while etcd was silent/);
    expect(checkI4([req(4000, 'b', 'CreateRoute', 'ok', true)], silent, ids, 500).pass).toBe(false);
  });
});

describe('I4 a SIGSTOPped leader', () => {
  const stop = { client: 'a', stoppedAt: 10_000, resumedAt: 16_000 };
  const w = (arrivedAt: number, client: string) => ({
    ...req(arrivedAt + 100, client, 'CreateRoute', 'ok', true),
    arrivedAt,
  });
  it('passes when the resumed leader writes nothing after its successor started', () => {
    const r = checkDeposedWrites([w(9000, 'a'), w(9990, 'a'), w(13_000, 'b'), w(16_050, 'b')], [stop], 5000);
    expect(r.bad).toBe(0);
    expect(r.summary).toBe(
      "1 leaders SIGSTOPped (1 with the successor writing meanwhile), 0 writes by them after the successor's first",
    );
  });
  it('counts each write the resumed leader sent after its successor’s first, by arrival', () => {
    const r = checkDeposedWrites([w(9990, 'a'), w(13_000, 'b'), w(16_001, 'a'), w(16_180, 'a')], [stop], 5000);
    expect(r.bad).toBe(2);
    expect(r.details[0]).toMatch(
      /CreateRoute ok by SIGSTOPped a 1 ms after its SIGCONT, 3001 ms after b's first write/,
    );
    const i4 = withDeposed({ id: 'I4', name: 'one writer', pass: true, summary: '3 writes', details: [] }, r);
    expect(i4).toMatchObject({
      pass: false,
      summary:
        "3 writes; 1 leaders SIGSTOPped (1 with the successor writing meanwhile), 2 writes by them after the successor's first",
    });
  });
  it('proves nothing (and fails nothing) when the successor did not write during the stop', () => {
    const r = checkDeposedWrites([w(16_001, 'a'), w(17_000, 'b')], [stop], 5000);
    expect(r).toMatchObject({ bad: 0 });
    expect(r.summary).toMatch(/\(0 with the successor writing meanwhile\)/);
  });
});

describe('I4 a send frozen by SIGSTOP', () => {
  const stop = { client: 'a', stoppedAt: 10_000, resumedAt: 16_000 };
  const w = (arrivedAt: number, client: string) => ({
    ...req(arrivedAt + 100, client, 'CreateRoute', 'ok', true),
    arrivedAt,
  });
  it('is a write that arrives the moment the leader resumes, before any other client wrote', () => {
    const writes = [w(9990, 'a'), w(16_001, 'a'), w(16_200, 'a'), w(17_000, 'b')];
    expect([...frozenSends(writes, [stop], 50)].map((x) => x.arrivedAt)).toEqual([16_001]);
  });
  it('is not one that arrives after another client has written', () => {
    expect(frozenSends([w(16_000, 'b'), w(16_001, 'a')], [stop], 50).size).toBe(0);
    expect(frozenSends([w(13_000, 'b'), w(16_001, 'a')], [stop], 50).size).toBe(0);
  });
});

describe('I5 quota first', () => {
  it('passes within quota and counts system routes out', () => {
    const s = quotaSamples(1, state(GOOD_ROUTES), CLOUD_ACTIONS.aws, ['rtb-1']);
    expect(s).toEqual([{ at: 1, scope: 'rtb-1', used: 2, limit: 10 }]);
    const r = checkI5(s, [req(1, 'a', 'CreateRoute', 'ok', true)], CLOUD_ACTIONS.aws);
    expect(r.pass).toBe(true);
    expect(r.summary).toBe('1 samples, rtb-1 peak 2/10, 0 quota errors');
  });
  it('catches a table over its quota', () => {
    const over = state(Array.from({ length: 11 }, (_, i) => ({ destination: `172.16.${i}.0/24`, target: 'i-1' })));
    const r = checkI5(quotaSamples(1, over, CLOUD_ACTIONS.aws, ['rtb-1']), [], CLOUD_ACTIONS.aws);
    expect(r.pass).toBe(false);
    expect(r.details[0]).toMatch(/rtb-1: 11 routes over its quota of 10/);
  });
  it('catches a create the cloud refused for want of room, but not throttling', () => {
    expect(
      checkI5(
        [{ at: 1, scope: 't', used: 1, limit: 2 }],
        [req(1, 'a', 'CreateRoute', 'RouteLimitExceeded', true)],
        CLOUD_ACTIONS.aws,
      ).pass,
    ).toBe(false);
    expect(
      checkI5(
        [{ at: 1, scope: 't', used: 1, limit: 2 }],
        [req(1, 'a', 'CreateRoute', 'RequestLimitExceeded', true)],
        CLOUD_ACTIONS.aws,
      ).pass,
    ).toBe(true);
  });
  it('counts GCE’s quota over the whole project', () => {
    const s: EmuState = {
      instances: [],
      tables: [
        {
          id: 'n1',
          quota: 3,
          routes: [
            { destination: '172.16.0.0/24', target: 'a' },
            { destination: '10.128.0.0/20', target: null, nextHop: 'local' },
          ],
        },
        {
          id: 'n2',
          quota: 3,
          routes: [
            { destination: '172.16.1.0/24', target: 'b' },
            { destination: '172.16.2.0/24', target: 'b' },
            { destination: '172.16.3.0/24', target: 'b' },
          ],
        },
      ],
    };
    const q = quotaSamples(1, s, CLOUD_ACTIONS.gce, ['n1']);
    expect(q).toEqual([{ at: 1, scope: 'project', used: 4, limit: 3 }]);
    expect(checkI5(q, [], CLOUD_ACTIONS.gce).pass).toBe(false);
  });
  it('fails without samples', () => {
    expect(checkI5([], [], CLOUD_ACTIONS.aws).pass).toBe(false);
  });
});

describe('I6 converge', () => {
  const a = parseEtcdAllocations(ALLOC, BASE);
  const live = ['i-1', 'i-2'];
  const opts = { clusterCIDR: CIDR, tables: ['rtb-1'], foreign: [] };
  it('passes when the table holds exactly the desired routes (foreign and non-cluster routes aside)', () => {
    const r = checkI6(state([...GOOD_ROUTES, { destination: '0.0.0.0/0', target: null, nextHop: 'igw-1' }]), a, live, {
      ...opts,
      convergedAfterMs: 1200,
    });
    expect(r.pass).toBe(true);
    expect(r.summary).toBe('1 tables, 2/2 routes right, 0 foreign left alone, converged 1.2 s after faults stopped');
  });
  it('catches a missing route', () => {
    const r = checkI6(state(GOOD_ROUTES.slice(0, 1)), a, live, opts);
    expect(r.details).toEqual(['rtb-1: missing route 172.16.1.0/24 → i-2']);
  });
  it('catches a stale route of ours and a wrong target', () => {
    const r = checkI6(
      state([
        GOOD_ROUTES[0] as (typeof GOOD_ROUTES)[0],
        { destination: '172.16.1.0/24', target: 'i-1' },
        { destination: '172.16.7.0/24', target: 'i-3' },
      ]),
      a,
      live,
      opts,
    );
    expect(r.pass).toBe(false);
    expect(r.details).toEqual(['rtb-1: 172.16.1.0/24 → i-1, want i-2', 'rtb-1: extra route 172.16.7.0/24 → i-3']);
  });
  it('catches a blackhole and a table missing altogether', () => {
    expect(
      checkI6(
        state([
          GOOD_ROUTES[0] as (typeof GOOD_ROUTES)[0],
          { ...(GOOD_ROUTES[1] as (typeof GOOD_ROUTES)[1]), state: 'blackhole' },
        ]),
        a,
        live,
        opts,
      ).pass,
    ).toBe(false);
    expect(checkI6(state(GOOD_ROUTES), a, live, { ...opts, tables: ['rtb-1', 'rtb-2'] }).details).toEqual([
      'table rtb-2 is missing from the emulator state',
    ]);
  });
  it('expects a foreign route in place of ours on a taken-over subnet (a conflict routesync must leave)', () => {
    const taken = state([
      GOOD_ROUTES[0] as (typeof GOOD_ROUTES)[0],
      { destination: '172.16.1.0/24', target: null, nextHop: 'nat-1' },
    ]);
    const foreign = [{ table: 'rtb-1', destination: '172.16.1.0/24', nextHop: 'nat-1' }];
    expect(checkI6(taken, a, live, { ...opts, foreign }).pass).toBe(true);
    expect(checkI6(taken, a, live, opts).pass).toBe(false);
  });
  it('fails when the tables matched only after the limit', () => {
    const r = checkI6(state(GOOD_ROUTES), a, live, { ...opts, limitMs: 11_000 });
    expect(r.pass).toBe(false);
    expect(r.summary).toMatch(/not converged within 11\.0 s/);
  });
});
