// Hostile provider responses (cut in half, empty, HTML from a proxy, an error body with 200, items missing
// fields or carrying the wrong types, a listing silently empty): the provider throws a ProviderError rather
// than return a partial list as if true, a reconcile pass that reads one deletes nothing, and the next clean
// pass converges. Real SDKs against the emulators; the corruption is played by the emulator's fault rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, type RouteTable } from '../../providers/types.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { reconcileOnce, type PassMemory, type PassReport } from '../../src/reconcile.ts';
import { createMemoryStore, type MemoryStore } from '../../src/store/memory/store.ts';
import { instanceKeys, routeKeys, startCloud, type CloudFixture } from '../../testkit/clouds.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';

const CORRUPTING = ['truncate', 'empty-body-200', 'html-200', 'error-200', 'missing-fields', 'wrong-types'] as const;
const DELETE_ACTION = /delete/i;

function deletes(fx: CloudFixture): number {
  const snap = fx.emu.counters.snapshot();
  return Object.entries(snap.byAction)
    .filter(([a]) => DELETE_ACTION.test(a))
    .reduce((n, [, o]) => n + Object.values(o).reduce((x, y) => x + y, 0), 0);
}

/** The actions a read makes, found by watching the emulator (no hard-coded per-cloud names). */
async function actionsOf(fx: CloudFixture, read: () => Promise<unknown>): Promise<string[]> {
  fx.emu.counters.reset();
  await read();
  return Object.keys(fx.emu.counters.snapshot().byAction);
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('%s: hostile responses', (kind) => {
  let fx: CloudFixture;
  let store: MemoryStore;
  let memory: PassMemory;
  let table: RouteTable;
  let instanceActions: string[];
  let routeActions: string[];
  let cleanInstances: string[];
  let cleanRoutes: string[];

  const pass = (): Promise<PassReport> =>
    reconcileOnce(
      {
        config: fx.config,
        provider: fx.provider,
        inventory: cloudInventory(fx.provider),
        store,
        logger: silentLogger,
        clock: systemClock,
        signal: new AbortController().signal,
        fence: () => {},
      },
      memory,
      { full: true },
    );

  async function converge(): Promise<PassReport> {
    let r = await pass();
    for (let i = 0; i < 8 && !r.converged; i++) {
      await systemClock.sleep(50);
      r = await pass();
    }
    return r;
  }

  /**
   * One hostile reply per listing action. A persistent corruption is only slower (the providers retry a
   * truncated reply for tens of seconds before giving up), not different: the first reply read is hostile.
   */
  async function fault(error: string, actions: string[]): Promise<void> {
    await fx.admin('POST', 'faults', { rules: actions.map((action) => ({ action, rate: 1, error, count: 1 })) });
  }

  beforeAll(async () => {
    fx = await startCloud(kind, { instances: 6 });
    store = createMemoryStore();
    memory = { quotaExceeded: new Set() };
    expect((await converge()).converged).toBe(true);
    [table] = (await fx.provider.routeTables()) as [RouteTable];
    instanceActions = await actionsOf(fx, () => fx.provider.listInstances());
    routeActions = await actionsOf(fx, () => fx.provider.listRoutes(table));
    cleanInstances = instanceKeys(await fx.provider.listInstances());
    cleanRoutes = routeKeys(await fx.provider.listRoutes(table));
    expect(cleanInstances.length).toBe(6);
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe.each(CORRUPTING)('%s', (hostile) => {
    it('provider: the instance listing throws a ProviderError, never a partial list', async () => {
      await fault(hostile, instanceActions);
      try {
        const err = await fx.provider.listInstances().then(
          (v) => v,
          (e: unknown) => e,
        );
        // Either a ProviderError, or a retry that read the whole true listing: never a partial or wrong one.
        if (Array.isArray(err)) expect(instanceKeys(err)).toEqual(cleanInstances);
        else expect(err).toBeInstanceOf(ProviderError);
      } finally {
        await fx.admin('DELETE', 'faults');
      }
      expect(instanceKeys(await fx.provider.listInstances())).toEqual(cleanInstances);
    });

    it('provider: the route listing throws a ProviderError, never a partial list', async () => {
      await fault(hostile, routeActions);
      try {
        const err = await fx.provider.listRoutes(table).then(
          (v) => v,
          (e: unknown) => e,
        );
        if (Array.isArray(err)) expect(routeKeys(err)).toEqual(cleanRoutes);
        else expect(err).toBeInstanceOf(ProviderError);
      } finally {
        await fx.admin('DELETE', 'faults');
      }
      expect(routeKeys(await fx.provider.listRoutes(table))).toEqual(cleanRoutes);
    });

    it('reconcile: a pass reading it deletes nothing and reports; the next clean pass converges', async () => {
      fx.emu.counters.reset();
      await fault(hostile, [...instanceActions, ...routeActions]);
      let r: PassReport | Error;
      try {
        r = await pass().catch((e: unknown) => e as Error);
      } finally {
        await fx.admin('DELETE', 'faults');
      }
      if (!(r instanceof Error)) {
        // A retry may have read the true listing; a pass that did see a failed read must not claim convergence.
        if (r.errors.length > 0 || !r.inventory.ok) expect(r.converged).toBe(false);
        expect(r.results.filter((x) => x.change.op === 'delete')).toEqual([]);
      }
      expect(deletes(fx)).toBe(0);
      expect((await converge()).converged).toBe(true);
      expect(deletes(fx)).toBe(0);
      expect(routeKeys(await fx.provider.listRoutes(table))).toEqual(cleanRoutes);
    });
  });

  it('empty-listing of instances: the safety valve holds every delete; the next clean pass converges', async () => {
    fx.emu.counters.reset();
    await fault('empty-listing', instanceActions);
    let r: PassReport;
    try {
      r = await pass();
    } finally {
      await fx.admin('DELETE', 'faults');
    }
    expect(r.valve.held).toBe(true);
    expect(r.converged).toBe(false);
    expect(r.results.filter((x) => x.change.op === 'delete')).toEqual([]);
    expect(deletes(fx)).toBe(0);
    expect((await converge()).converged).toBe(true);
    expect(routeKeys(await fx.provider.listRoutes(table))).toEqual(cleanRoutes);
    expect(deletes(fx)).toBe(0);
  });

  it('empty-listing of routes: no deletes, the re-creates count as already done, the table is unchanged', async () => {
    fx.emu.counters.reset();
    await fault('empty-listing', routeActions);
    try {
      const r = await pass().catch((e: unknown) => e as Error);
      if (!(r instanceof Error)) expect(r.results.filter((x) => x.change.op === 'delete')).toEqual([]);
    } finally {
      await fx.admin('DELETE', 'faults');
    }
    expect(deletes(fx)).toBe(0);
    expect((await converge()).converged).toBe(true);
    expect(routeKeys(await fx.provider.listRoutes(table))).toEqual(cleanRoutes);
  });
});
