import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Change, Quota, Route } from '../../providers/types.ts';
import { classifyRoute } from '../../src/ownership.ts';
import { plan, totals, type DesiredRoute, type PlanInput } from '../../src/plan.ts';

const CLUSTER = '10.0.0.0/16';

function route(p: Partial<Route> & Pick<Route, 'destination'>): Route {
  return {
    table: 't1',
    target: null,
    nextHop: p.target ?? 'igw-1',
    state: 'active',
    marked: true,
    system: false,
    ...p,
  };
}

function input(p: Partial<PlanInput>): PlanInput {
  return {
    desired: [],
    actualByTable: { t1: [] },
    quotaByTable: { t1: { limit: 50, used: 0, source: 'default', scope: 'table' } },
    clusterCIDR: CLUSTER,
    subnetLen: 24,
    inventoryIds: new Set(['i-1', 'i-2', 'i-3']),
    releasable: new Set(),
    adopt: false,
    deletesAllowed: true,
    ...p,
  };
}

const d = (n: number, target: string, allocatedAt = n): DesiredRoute => ({
  destination: `10.0.${n}.0/24`,
  target,
  allocatedAt,
});

describe('plan: examples for every branch', () => {
  it('creates a missing route', () => {
    const p = plan(input({ desired: [d(1, 'i-1')] }));
    expect(p.changes).toEqual([
      expect.objectContaining({ op: 'create', table: 't1', destination: '10.0.1.0/24', target: 'i-1' }),
    ]);
    expect(p.summary.t1?.missing).toBe(1);
  });

  it('leaves a correct route alone', () => {
    const p = plan(
      input({ desired: [d(1, 'i-1')], actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-1' })] } }),
    );
    expect(p.changes).toEqual([]);
    expect(p.summary.t1?.ok).toBe(1);
  });

  it('replaces ours with a wrong target, carrying providerId and previous target', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-2', providerId: 'r-9' })] },
      }),
    );
    expect(p.changes).toEqual([
      expect.objectContaining({ op: 'replace', target: 'i-1', previousTarget: 'i-2', providerId: 'r-9' }),
    ]);
    expect(p.summary.t1?.wrong_target).toBe(1);
  });

  it('deletes a stale route of ours and a blackhole of ours on subnets the store released', () => {
    const p = plan(
      input({
        releasable: new Set(['10.0.7.0/24', '10.0.8.0/24']),
        actualByTable: {
          t1: [
            route({ destination: '10.0.7.0/24', target: 'i-3' }),
            route({ destination: '10.0.8.0/24', target: 'i-gone', state: 'blackhole', marked: null }),
          ],
        },
      }),
    );
    expect(p.changes.map((c) => [c.op, c.destination])).toEqual([
      ['delete', '10.0.7.0/24'],
      ['delete', '10.0.8.0/24'],
    ]);
    expect(p.summary.t1).toMatchObject({ stale: 1, blackhole: 1 });
  });

  it('I2/I3: a route of ours on a subnet the store does not hold is an orphan, never deleted', () => {
    const p = plan(
      input({
        actualByTable: {
          t1: [
            route({ destination: '10.0.7.0/24', target: 'i-3' }),
            route({ destination: '10.0.8.0/24', target: 'i-gone', state: 'blackhole', marked: null }),
          ],
        },
      }),
    );
    expect(p.changes).toEqual([]);
    expect(p.findings.map((f) => [f.kind, f.destination])).toEqual([
      ['orphan', '10.0.7.0/24'],
      ['orphan', '10.0.8.0/24'],
    ]);
    expect(totals(p)).toMatchObject({ delete: 0, orphan: 2 });
  });

  it("I2/I3: a route of ours pointing at a VM without a subnet is not replaced by the store's choice", () => {
    // A lost store re-allocated 10.0.1.0/24 to i-1 while the table still routes it to i-2, which holds nothing.
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        unallocated: new Set(['i-2']),
        actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-2' })] },
      }),
    );
    expect(p.changes).toEqual([]);
    expect(p.findings).toEqual([
      expect.objectContaining({ kind: 'orphan', destination: '10.0.1.0/24', detail: expect.stringContaining('i-2') }),
    ]);
  });

  it('I2/I3: even on a released subnet, a route to a VM without a subnet is not deleted', () => {
    const p = plan(
      input({
        releasable: new Set(['10.0.7.0/24']),
        unallocated: new Set(['i-3']),
        actualByTable: { t1: [route({ destination: '10.0.7.0/24', target: 'i-3' })] },
      }),
    );
    expect(p.changes).toEqual([]);
    expect(p.findings[0]?.kind).toBe('orphan');
  });

  it("an orphan finding carries the adoption's reason", () => {
    const why = 'routes of ours point 2 subnets at i-3';
    const p = plan(
      input({
        orphanReasons: new Map([['10.0.7.0/24', why]]),
        actualByTable: { t1: [route({ destination: '10.0.7.0/24', target: 'i-3' })] },
      }),
    );
    expect(p.findings).toEqual([expect.objectContaining({ kind: 'orphan', detail: why })]);
  });

  it('cleans up a blackhole of ours with no target (it carries no traffic)', () => {
    const p = plan(
      input({ actualByTable: { t1: [route({ destination: '10.0.7.0/24', target: null, state: 'blackhole' })] } }),
    );
    expect(p.changes).toEqual([expect.objectContaining({ op: 'delete', destination: '10.0.7.0/24' })]);
  });

  it('I2: a route merely inside clusterCIDR, not exactly one of our /subnetLen subnets, is never ours', () => {
    const routes = [
      route({ destination: '10.0.0.0/20', target: 'i-1' }),
      route({ destination: '10.0.0.0/16', target: 'i-1', marked: null }),
      route({ destination: '10.0.4.0/25', target: null, state: 'blackhole', marked: null }),
    ];
    const p = plan(input({ releasable: new Set(routes.map((r) => r.destination)), actualByTable: { t1: routes } }));
    expect(p.changes).toEqual([]);
    expect(p.findings).toEqual([]);
  });

  it('I2: with clusterCIDR 0.0.0.0/0 a default route to a VM of the inventory (a NAT instance) is still not ours', () => {
    const nat = route({ destination: '0.0.0.0/0', target: 'i-1', marked: null });
    const p = plan(
      input({ clusterCIDR: '0.0.0.0/0', releasable: new Set(['0.0.0.0/0']), actualByTable: { t1: [nat] } }),
    );
    expect(p.changes).toEqual([]);
  });

  it('replaces a blackhole that sits on a desired subnet', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        actualByTable: {
          t1: [route({ destination: '10.0.1.0/24', target: 'i-old', state: 'blackhole', marked: null })],
        },
      }),
    );
    expect(p.changes).toEqual([expect.objectContaining({ op: 'replace', target: 'i-1' })]);
    expect(p.summary.t1?.blackhole).toBe(1);
  });

  it('leaves a route whose VM cannot forward and reports it (cannot-forward), never a delete/insert loop', () => {
    const bad = route({
      destination: '10.0.1.0/24',
      target: 'i-1',
      state: 'blackhole',
      cannotForward: 'NEXT_HOP_CANNOT_IP_FORWARD',
    });
    const p = plan(input({ desired: [d(1, 'i-1')], actualByTable: { t1: [bad] } }));
    expect(p.changes).toEqual([]);
    expect(p.findings).toEqual([
      expect.objectContaining({
        kind: 'cannot-forward',
        destination: '10.0.1.0/24',
        target: 'i-1',
        detail: expect.stringMatching(/i-1 cannot forward.*NEXT_HOP_CANNOT_IP_FORWARD/),
      }),
    ]);
    expect(p.summary.t1).toMatchObject({ cannot_forward: 1, blackhole: 0 });
    expect(totals(p).cannotForward).toBe(1);
    // Given to another VM, the same route is replaced as usual.
    const moved = plan(input({ desired: [d(1, 'i-2')], actualByTable: { t1: [bad] } }));
    expect(moved.changes).toEqual([expect.objectContaining({ op: 'replace', target: 'i-2' })]);
  });

  it('reports pending routes and does not re-create them', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-1', state: 'pending' })] },
      }),
    );
    expect(p.changes).toEqual([]);
    expect(p.findings).toEqual([expect.objectContaining({ kind: 'pending', destination: '10.0.1.0/24' })]);
  });

  it('deletes duplicates of ours at one destination, keeping the right one', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        actualByTable: {
          t1: [
            route({ destination: '10.0.1.0/24', target: 'i-2', providerId: 'b' }),
            route({ destination: '10.0.1.0/24', target: 'i-1', providerId: 'a' }),
          ],
        },
      }),
    );
    expect(p.changes).toEqual([expect.objectContaining({ op: 'delete', providerId: 'b' })]);
  });

  it('issue 12 #3: the same entry listed twice (overlapping pages) is one route, never deleted as its own duplicate', () => {
    const live = route({ destination: '10.0.1.0/24', target: 'i-1', providerId: 'rte-1' });
    const p = plan(input({ desired: [d(1, 'i-1')], actualByTable: { t1: [live, { ...live }] } }));
    expect(p.changes).toEqual([]);
    expect(p.summary.t1).toMatchObject({ ok: 1, stale: 0 });
    // Without a provider id (AWS) a route is its destination: twice listed is still one route.
    const aws = route({ destination: '10.0.1.0/24', target: 'i-1', marked: null });
    expect(plan(input({ desired: [d(1, 'i-1')], actualByTable: { t1: [aws, { ...aws }] } })).changes).toEqual([]);
    // Two distinct entries plus a repeat of one: exactly one delete, of the distinct duplicate.
    const other = route({ destination: '10.0.1.0/24', target: 'i-2', providerId: 'rte-2' });
    const q = plan(input({ desired: [d(1, 'i-1')], actualByTable: { t1: [live, other, { ...other }, { ...live }] } }));
    expect(q.changes).toEqual([expect.objectContaining({ op: 'delete', providerId: 'rte-2' })]);
  });

  it('I2: a foreign route on our subnet is a conflict and left alone', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-other', marked: false })] },
      }),
    );
    expect(p.changes).toEqual([]);
    expect(p.findings).toEqual([expect.objectContaining({ kind: 'conflict', destination: '10.0.1.0/24' })]);
    expect(p.summary.t1?.conflict).toBe(1);
  });

  it('I2: an unmarked (AWS) route to a VM outside the inventory is foreign', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1')],
        actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-stranger', marked: null })] },
      }),
    );
    expect(p.changes).toEqual([]);
    expect(p.findings[0]?.kind).toBe('conflict');
  });

  it('I2: adopt takes over a foreign route but never a system route', () => {
    const p = plan(
      input({
        adopt: true,
        desired: [d(1, 'i-1'), d(2, 'i-2')],
        actualByTable: {
          t1: [
            route({ destination: '10.0.1.0/24', target: 'i-x', marked: false, providerId: 'f' }),
            route({ destination: '10.0.2.0/24', nextHop: 'local', system: true, marked: null }),
          ],
        },
      }),
    );
    expect(p.changes).toEqual([
      expect.objectContaining({ op: 'replace', destination: '10.0.1.0/24', providerId: 'f', target: 'i-1' }),
    ]);
    expect(p.findings).toEqual([expect.objectContaining({ kind: 'conflict', destination: '10.0.2.0/24' })]);
  });

  it('I2: routes outside clusterCIDR and system routes are never touched', () => {
    const p = plan(
      input({
        actualByTable: {
          t1: [
            route({ destination: '192.168.0.0/24', target: 'i-1' }),
            route({ destination: '10.0.0.0/16', nextHop: 'local', system: true, marked: null }),
            route({ destination: '0.0.0.0/0', nextHop: 'igw' }),
          ],
        },
      }),
    );
    expect(p.changes).toEqual([]);
  });

  it('I3: no deletes or replaces while the safety valve is held, creates still go ahead', () => {
    const p = plan(
      input({
        deletesAllowed: false,
        desired: [d(1, 'i-1'), d(2, 'i-2')],
        releasable: new Set(['10.0.9.0/24']),
        actualByTable: {
          t1: [
            route({ destination: '10.0.2.0/24', target: 'i-3' }),
            route({ destination: '10.0.9.0/24', target: 'i-3' }),
          ],
        },
      }),
    );
    expect(p.changes.map((c) => c.op)).toEqual(['create']);
    expect(p.findings.filter((f) => f.kind === 'held:safety-valve').map((f) => f.destination)).toEqual([
      '10.0.9.0/24',
      '10.0.2.0/24',
    ]);
  });

  it('caps deletes at maxDeletes and holds the rest', () => {
    const actual = [3, 4, 5].map((n) => route({ destination: `10.0.${n}.0/24`, target: 'i-1' }));
    const p = plan(
      input({ maxDeletes: 2, releasable: new Set(actual.map((r) => r.destination)), actualByTable: { t1: actual } }),
    );
    expect(p.changes.filter((c) => c.op === 'delete')).toHaveLength(2);
    expect(p.findings.filter((f) => f.kind === 'held:safety-valve')).toHaveLength(1);
  });

  it('I5: creates beyond quota are blocked, oldest allocation first', () => {
    const p = plan(
      input({
        desired: [d(1, 'i-1', 300), d(2, 'i-2', 100), d(3, 'i-3', 200)],
        quotaByTable: { t1: { limit: 10, used: 8, source: 'api', scope: 'table' } },
      }),
    );
    expect(p.changes.map((c) => c.destination)).toEqual(['10.0.2.0/24', '10.0.3.0/24']);
    expect(p.findings).toEqual([expect.objectContaining({ kind: 'blocked:quota', destination: '10.0.1.0/24' })]);
    expect(totals(p)).toMatchObject({ create: 2, blocked: 1 });
  });

  it('I5: a table without a known quota gets no creates', () => {
    const p = plan(input({ desired: [d(1, 'i-1')], quotaByTable: {} }));
    expect(p.changes).toEqual([]);
    expect(p.findings[0]).toMatchObject({ kind: 'blocked:quota', detail: expect.stringContaining('unknown') });
  });

  it('I5: a project-wide quota (GCE) is shared across tables', () => {
    const q: Quota = { limit: 5, used: 3, source: 'api', scope: 'project' };
    const p = plan(
      input({
        desired: [d(1, 'i-1', 1), d(2, 'i-2', 2)],
        actualByTable: { a: [], b: [] },
        quotaByTable: { a: q, b: q },
      }),
    );
    expect(p.changes.map((c) => `${c.table}:${c.destination}`)).toEqual(['a:10.0.1.0/24', 'b:10.0.1.0/24']);
    expect(p.findings.filter((f) => f.kind === 'blocked:quota')).toHaveLength(2);
  });

  it('a table whose routes could not be read gets no changes at all', () => {
    const p = plan(input({ desired: [d(1, 'i-1')], actualByTable: {} }));
    expect(p.changes).toEqual([]);
  });

  it('keeps (but does not create) the route of a VM that is not running', () => {
    const keep = { ...d(1, 'i-1'), create: false };
    const missing = { ...d(2, 'i-2'), create: false };
    const p = plan(
      input({
        desired: [keep, missing],
        actualByTable: { t1: [route({ destination: '10.0.1.0/24', target: 'i-1' })] },
      }),
    );
    expect(p.changes).toEqual([]);
  });
});

// ---- properties ----

const TABLES = ['t1', 't2'];
const INSTANCES = Array.from({ length: 8 }, (_, i) => `i-${i}`);

const arbRoute = (id: number) =>
  fc
    .record({
      table: fc.constantFrom(...TABLES),
      sub: fc.integer({ min: 0, max: 15 }),
      kind: fc.constantFrom('ours', 'ours', 'foreign', 'aws', 'system', 'outside', 'wide-ours', 'wide-aws'),
      target: fc.option(fc.constantFrom(...INSTANCES, 'i-stranger'), { nil: null }),
      state: fc.constantFrom('active', 'active', 'pending', 'blackhole'),
    })
    .map((g): Route => {
      // wide-*: inside clusterCIDR but not one of its /24s (a /20 of it, the cluster itself, a default route).
      const wide = ['10.0.0.0/20', '10.0.16.0/20', CLUSTER, '0.0.0.0/0', '10.0.0.0/8'][g.sub % 5] as string;
      const destination =
        g.kind === 'outside' ? `192.168.${g.sub}.0/24` : g.kind.startsWith('wide') ? wide : `10.0.${g.sub}.0/24`;
      return {
        table: g.table,
        destination,
        target: g.target,
        nextHop: g.target ?? 'igw-1',
        state: g.state as Route['state'],
        marked: g.kind === 'ours' || g.kind === 'wide-ours' ? true : g.kind === 'foreign' ? false : null,
        system: g.kind === 'system',
        providerId: `r${id}`,
      };
    });

const arbInput = fc
  .record({
    routes: fc.array(fc.nat(), { maxLength: 25 }).chain((ids) => fc.tuple(...ids.map((_, i) => arbRoute(i)))),
    desiredSubs: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: INSTANCES.length }),
    ages: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: INSTANCES.length, maxLength: INSTANCES.length }),
    quota: fc.record({ t1: fc.integer({ min: 0, max: 10 }), t2: fc.integer({ min: 0, max: 10 }) }),
    used: fc.integer({ min: 0, max: 6 }),
    scope: fc.constantFrom('table', 'project'),
    adopt: fc.boolean(),
    releasableSubs: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 16 }),
    unallocatedPick: fc.array(fc.boolean(), { minLength: INSTANCES.length, maxLength: INSTANCES.length }),
    deletesAllowed: fc.boolean(),
    maxDeletes: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  })
  .map((g) => {
    const desired: DesiredRoute[] = g.desiredSubs.map((s, i) => ({
      destination: `10.0.${s}.0/24`,
      target: INSTANCES[i] as string,
      allocatedAt: g.ages[i] as number,
    }));
    const actualByTable: Record<string, Route[]> = { t1: [], t2: [] };
    for (const r of g.routes) actualByTable[r.table]?.push(r);
    const quotaByTable: Record<string, Quota> = {
      t1: { limit: g.used + g.quota.t1, used: g.used, source: 'api', scope: g.scope as Quota['scope'] },
      t2: { limit: g.used + g.quota.t2, used: g.used, source: 'api', scope: g.scope as Quota['scope'] },
    };
    if (g.scope === 'project') quotaByTable.t2 = quotaByTable.t1 as Quota;
    const inp: PlanInput = {
      desired,
      actualByTable,
      quotaByTable,
      clusterCIDR: CLUSTER,
      subnetLen: 24,
      inventoryIds: new Set(INSTANCES),
      releasable: new Set(g.releasableSubs.map((n) => `10.0.${n}.0/24`)),
      // VMs without a subnet: only those no desired route points at.
      unallocated: new Set(INSTANCES.filter((_id, i) => i >= g.desiredSubs.length && g.unallocatedPick[i])),
      adopt: g.adopt,
      deletesAllowed: g.deletesAllowed,
      ...(g.maxDeletes !== undefined ? { maxDeletes: g.maxDeletes } : {}),
    };
    return inp;
  });

/** What a cloud does with the plan: the model the properties check against. */
function applyToState(actual: Record<string, Route[]>, changes: Change[]): Record<string, Route[]> {
  const out: Record<string, Route[]> = Object.fromEntries(
    Object.entries(actual).map(([t, rs]) => [t, rs.map((r) => ({ ...r }))]),
  );
  for (const c of changes) {
    const rs = out[c.table] as Route[];
    const i = rs.findIndex(
      (r) => r.destination === c.destination && (c.providerId === undefined || r.providerId === c.providerId),
    );
    if (c.op === 'delete') rs.splice(i, 1);
    else if (c.op === 'replace')
      rs[i] = {
        ...(rs[i] as Route),
        target: c.target,
        nextHop: c.target ?? '',
        state: 'active',
        marked: true,
        providerId: `new-${c.destination}`,
      };
    else
      rs.push({
        table: c.table,
        destination: c.destination,
        target: c.target,
        nextHop: c.target ?? '',
        state: 'active',
        marked: true,
        system: false,
        providerId: `new-${c.destination}`,
      });
  }
  return out;
}

describe('plan: properties', () => {
  it('I6: applying the plan yields the desired state, restricted to quota, conflicts and pending', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const full = { ...inp, deletesAllowed: true, maxDeletes: undefined } as PlanInput;
        delete full.maxDeletes;
        const p = plan(full);
        const after = applyToState(inp.actualByTable as Record<string, Route[]>, p.changes);
        const own = { clusterCIDR: CLUSTER, subnetLen: 24, knownInstanceIds: inp.inventoryIds };
        for (const table of TABLES) {
          const ours = (after[table] ?? []).filter((r) => classifyRoute(r, own) === 'ours');
          const excused = new Set(
            p.findings.filter((f) => f.table === table && f.kind !== 'held:safety-valve').map((f) => f.destination),
          );
          const orphaned = new Set(
            p.findings.filter((f) => f.table === table && f.kind === 'orphan').map((f) => f.destination),
          );
          for (const dr of inp.desired) {
            const at = ours.filter((r) => r.destination === dr.destination);
            if (excused.has(dr.destination)) continue;
            expect(at).toHaveLength(1);
            expect(at[0]?.target).toBe(dr.target);
          }
          const desiredDest = new Set(inp.desired.map((x) => x.destination));
          // A route of ours left on a subnet nobody wants is one the store does not account for, and reported.
          for (const r of ours) expect(desiredDest.has(r.destination) || orphaned.has(r.destination)).toBe(true);
        }
        // Quota: never more creates than remaining, and the blocked are never older than the created.
        const creates = p.changes.filter((c) => c.op === 'create');
        const age = new Map(inp.desired.map((x) => [x.destination, x.allocatedAt]));
        const blocked = p.findings.filter((f) => f.kind === 'blocked:quota');
        for (const table of TABLES) {
          const q = inp.quotaByTable[table] as Quota;
          const n = q.scope === 'project' ? creates.length : creates.filter((c) => c.table === table).length;
          expect(n).toBeLessThanOrEqual(q.limit - q.used);
        }
        for (const b of blocked) {
          const sameScope = creates.filter(
            (c) => (inp.quotaByTable[b.table] as Quota).scope === 'project' || c.table === b.table,
          );
          for (const c of sameScope)
            expect(age.get(c.destination) as number).toBeLessThanOrEqual(age.get(b.destination) as number);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('I2: foreign, system and outside routes never appear in changes (unless adopted; system never)', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const p = plan(inp);
        const byId = new Map(
          Object.values(inp.actualByTable as Record<string, Route[]>)
            .flat()
            .map((r) => [r.providerId, r]),
        );
        const own = { clusterCIDR: CLUSTER, subnetLen: 24, knownInstanceIds: inp.inventoryIds };
        for (const c of p.changes) {
          if (c.op === 'create') continue;
          const r = byId.get(c.providerId) as Route;
          const owner = classifyRoute(r, own);
          if (inp.adopt && c.op === 'replace') expect(['ours', 'foreign']).toContain(owner);
          else expect(owner).toBe('ours');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('I2/I3: a route of ours is deleted only on a released subnet (or as a target-less blackhole), never replaced or deleted away from a VM without a subnet', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const p = plan(inp);
        const byId = new Map(
          Object.values(inp.actualByTable as Record<string, Route[]>)
            .flat()
            .map((r) => [r.providerId, r]),
        );
        const desiredDest = new Set(inp.desired.map((x) => x.destination));
        for (const c of p.changes) {
          if (c.op === 'create') continue;
          const r = byId.get(c.providerId) as Route;
          expect(r.destination).toMatch(/^10\.0\.\d+\.0\/24$/);
          if (r.marked === false) continue; // adopt: true takes over a foreign route, as before
          const dupe = c.op === 'delete' && desiredDest.has(r.destination);
          if (!dupe && r.target !== null) expect(inp.unallocated?.has(r.target)).not.toBe(true);
          if (c.op === 'delete' && !dupe)
            expect(inp.releasable.has(r.destination) || (r.state === 'blackhole' && r.target === null)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('I3: no deletes or replaces when deletes are not allowed; deletes never exceed maxDeletes', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const p = plan(inp);
        const destructive = p.changes.filter((c) => c.op !== 'create');
        if (!inp.deletesAllowed) expect(destructive).toEqual([]);
        if (inp.maxDeletes !== undefined)
          expect(p.changes.filter((c) => c.op === 'delete').length).toBeLessThanOrEqual(inp.maxDeletes);
      }),
      { numRuns: 300 },
    );
  });
});

describe('plan: what stands between a releasable subnet and its release', () => {
  const gone = '10.0.5.0/24';
  const t = (table: string, p: Partial<Route> = {}) =>
    route({ table, destination: gone, target: 'i-9', providerId: `rs-${table}`, ...p });
  const quota = (): Quota => ({ limit: 50, used: 0, source: 'default', scope: 'table' });

  it("names each table's delete of the subnet's routes of ours, and nothing kept", () => {
    const p = plan(
      input({
        actualByTable: { t1: [t('t1')], t2: [t('t2', { state: 'blackhole' })] },
        quotaByTable: { t1: quota(), t2: quota() },
        inventoryIds: new Set(['i-9']),
        releasable: new Set([gone]),
      }),
    );
    expect(p.releases[gone]?.kept).toBe(0);
    expect(p.releases[gone]?.deletes.map((c) => `${c.table} ${c.op} ${c.providerId}`)).toEqual([
      't1 delete rs-t1',
      't2 delete rs-t2',
    ]);
    // Every delete of the gate is one of the plan's changes.
    for (const c of p.releases[gone]?.deletes ?? []) expect(p.changes).toContain(c);
  });

  it('counts as kept what the valve holds, the delete cap holds, or an orphan keeps', () => {
    const base = {
      actualByTable: { t1: [t('t1')], t2: [t('t2')] },
      quotaByTable: { t1: quota(), t2: quota() },
      inventoryIds: new Set(['i-9']),
      releasable: new Set([gone]),
    };
    expect(plan(input({ ...base, deletesAllowed: false })).releases[gone]).toEqual({ deletes: [], kept: 2 });
    const capped = plan(input({ ...base, maxDeletes: 1 })).releases[gone];
    expect(capped?.deletes.map((c) => c.table)).toEqual(['t1']);
    expect(capped?.kept).toBe(1);
    // i-9 is in the inventory and holds no subnet: its route is evidence of a lost allocation, not deleted.
    const claimed = plan(input({ ...base, unallocated: new Set(['i-9']) })).releases[gone];
    expect(claimed).toEqual({ deletes: [], kept: 2 });
  });

  it('has no gate for a subnet without a route of ours, nor for one a desired route wants', () => {
    const p = plan(
      input({
        desired: [d(6, 'i-1')],
        actualByTable: { t1: [route({ destination: '10.0.6.0/24', target: 'i-1' })] },
        releasable: new Set([gone, '10.0.6.0/24']),
      }),
    );
    expect(p.releases).toEqual({});
  });
});
