// Per-VM route summary of a pass (src/pass-vm-routes.ts): active only when every managed table has the
// route; pending, lost (active before), blocked (with why) and unknown (a table not read) otherwise.
import { describe, expect, it } from 'vitest';
import type { Change, ChangeResult, Route } from '../../providers/types.ts';
import type { Finding } from '../../src/plan-types.ts';
import { stillRouted, vmRoutes, type VmRoutesInput } from '../../src/pass-vm-routes.ts';

const A = { instanceId: 'i-a', name: 'node-a', subnet: '10.244.0.0/24' };
const B = { instanceId: 'i-b', name: 'node-b', subnet: '10.244.1.0/24' };

function route(table: string, destination: string, target: string | null, state: Route['state'] = 'active'): Route {
  return { table, destination, target, nextHop: target ?? 'gw', state, marked: true, system: false };
}

function input(over: Partial<VmRoutesInput>): VmRoutesInput {
  return {
    allocations: [A, B],
    tables: ['t1', 't2'],
    actualByTable: new Map(),
    plan: { changes: [], findings: [] },
    results: [],
    ...over,
  };
}

const create = (table: string, a: typeof A): Change => ({
  op: 'create',
  table,
  destination: a.subnet,
  target: a.instanceId,
  reason: 'VM has no route for its subnet',
});

const stateOf = (rs: ReturnType<typeof vmRoutes>) => Object.fromEntries(rs.map((r) => [r.instanceId, r.state]));

describe('vmRoutes', () => {
  it('active only when every managed table has the route; one table short is pending', () => {
    const r = vmRoutes(
      input({
        actualByTable: new Map([
          ['t1', [route('t1', A.subnet, 'i-a'), route('t1', B.subnet, 'i-b')]],
          ['t2', [route('t2', A.subnet, 'i-a')]],
        ]),
      }),
    );
    expect(stateOf(r)).toEqual({ 'i-a': 'active', 'i-b': 'pending' });
    expect(r[1]?.tables).toEqual({ t1: 'active', t2: 'missing' });
  });

  it('a create applied this pass counts as active; a failed one leaves it pending', () => {
    const c1 = create('t1', A);
    const c2 = create('t1', B);
    const results: ChangeResult[] = [
      { change: c1, outcome: 'applied' },
      { change: c2, outcome: 'failed' },
    ];
    const r = vmRoutes(
      input({
        tables: ['t1'],
        actualByTable: new Map([['t1', []]]),
        plan: { changes: [c1, c2], findings: [] },
        results,
      }),
    );
    expect(stateOf(r)).toEqual({ 'i-a': 'active', 'i-b': 'pending' });
  });

  it('a route the cloud is still creating is pending, and one of another VM at the subnet is not ours', () => {
    const r = vmRoutes(
      input({
        tables: ['t1'],
        actualByTable: new Map([['t1', [route('t1', A.subnet, 'i-a', 'pending'), route('t1', B.subnet, 'i-x')]]]),
      }),
    );
    expect(r.map((x) => x.tables.t1)).toEqual(['pending', 'missing']);
  });

  it('lost: was active, now missing or a blackhole (a replace not yet done)', () => {
    const rep: Change = { ...create('t1', B), op: 'replace', previousTarget: 'i-b', reason: 'blackhole route' };
    const r = vmRoutes(
      input({
        tables: ['t1'],
        actualByTable: new Map([['t1', [route('t1', B.subnet, 'i-b', 'blackhole')]]]),
        plan: { changes: [rep], findings: [] },
        wasActive: new Set(['i-a', 'i-b']),
      }),
    );
    expect(stateOf(r)).toEqual({ 'i-a': 'lost', 'i-b': 'lost' });
    // Restored by this pass's replace: active again.
    const fixed = vmRoutes(
      input({
        allocations: [B],
        tables: ['t1'],
        actualByTable: new Map([['t1', [route('t1', B.subnet, 'i-b', 'blackhole')]]]),
        plan: { changes: [rep], findings: [] },
        results: [{ change: rep, outcome: 'applied' }],
        wasActive: new Set(['i-b']),
      }),
    );
    expect(stateOf(fixed)).toEqual({ 'i-b': 'active' });
  });

  it('blocked names each table and why: quota, conflict, cannot-forward', () => {
    const findings: Finding[] = [
      {
        kind: 'blocked:quota',
        table: 't1',
        destination: A.subnet,
        target: 'i-a',
        detail: 'route table quota is used up',
      },
      { kind: 'conflict', table: 't2', destination: B.subnet, target: 'i-b', detail: 'foreign route holds it' },
      { kind: 'pending', table: 't2', destination: A.subnet, target: 'i-a', detail: 'being created' },
    ];
    const r = vmRoutes(
      input({
        actualByTable: new Map([
          ['t1', [route('t1', B.subnet, 'i-b')]],
          ['t2', [route('t2', A.subnet, 'i-a', 'pending'), route('t2', B.subnet, 'gw-1')]],
        ]),
        plan: { changes: [], findings },
      }),
    );
    expect(stateOf(r)).toEqual({ 'i-a': 'blocked', 'i-b': 'blocked' });
    expect(r[0]?.blocked).toEqual([{ kind: 'blocked:quota', table: 't1', detail: 'route table quota is used up' }]);
    expect(r[1]?.blocked?.map((b) => b.kind)).toEqual(['conflict']);
    const cf = vmRoutes(
      input({
        allocations: [A],
        tables: ['t1'],
        actualByTable: new Map([
          ['t1', [{ ...route('t1', A.subnet, 'i-a'), cannotForward: 'NEXT_HOP_CANNOT_IP_FORWARD' }]],
        ]),
        plan: {
          changes: [],
          findings: [{ kind: 'cannot-forward', table: 't1', destination: A.subnet, target: 'i-a', detail: 'cannot' }],
        },
      }),
    );
    expect(stateOf(cf)).toEqual({ 'i-a': 'blocked' });
  });

  it('a table that was not read makes the VM unknown, never pending or lost; no tables at all is unknown', () => {
    const r = vmRoutes(
      input({ actualByTable: new Map([['t1', [route('t1', A.subnet, 'i-a')]]]), wasActive: new Set(['i-a']) }),
    );
    expect(stateOf(r)).toEqual({ 'i-a': 'unknown', 'i-b': 'unknown' });
    expect(r[0]?.tables).toEqual({ t1: 'active', t2: 'unknown' });
    expect(stateOf(vmRoutes(input({ tables: [] })))).toEqual({ 'i-a': 'unknown', 'i-b': 'unknown' });
  });

  it('stillRouted keeps a lost VM until it is restored or released', () => {
    const rs = vmRoutes(
      input({
        tables: ['t1'],
        actualByTable: new Map([['t1', [route('t1', A.subnet, 'i-a')]]]),
        wasActive: new Set(['i-b', 'i-gone']),
      }),
    );
    expect(stateOf(rs)).toEqual({ 'i-a': 'active', 'i-b': 'lost' });
    expect([...stillRouted(rs, new Set(['i-b', 'i-gone']))].sort()).toEqual(['i-a', 'i-b']);
  });
});
