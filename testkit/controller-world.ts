// One cloud's emulator + its real provider (testkit/clouds.ts) with a Controller in front, leading by a
// memory leadership on a manual clock: the world the end-to-end suites of the engine drive one pass at a
// time (`runOnce`) and advance by hand (`clock.advance`).
import { Controller, type ControllerDeps } from '../src/controller.ts';
import { cloudInventory } from '../src/inventory/cloud.ts';
import { ManualClock } from '../src/lib/clock.ts';
import { silentLogger } from '../src/log.ts';
import type { PassReport } from '../src/reconcile.ts';
import { MemoryLeadership } from '../src/store/memory/leadership.ts';
import { createMemoryStore } from '../src/store/memory/store.ts';
import type { Store } from '../src/store/types.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { type CloudFixture, startCloud } from './clouds.ts';

/** `S`: the shape the caller reads the emulator's admin state as. */
export interface ControllerWorld<S = unknown> {
  f: CloudFixture;
  store: Store;
  clock: ManualClock;
  c: Controller;
  /** The emulator's `GET /_emulator/state`. */
  state(): Promise<S>;
  /**
   * Full passes until nothing is left to do — `busy` (default: changes planned, or routes still pending,
   * which settle on the emulator's clock) is false — or `max` more passes; the last report.
   */
  settle(max?: number, busy?: (r: PassReport) => boolean): Promise<PassReport>;
  /** Calls the provider made of `action` so far (its observer's count). */
  count(action: string): number;
  close(): Promise<void>;
}

/** Changes planned, or routes the cloud still reports pending. */
export const unsettled = (r: PassReport): boolean =>
  r.plan.changes.length > 0 || r.plan.findings.some((x) => x.kind === 'pending');

/**
 * A world of `kind` with `instances` tagged VMs. `opts` go to the emulator (profile, timeScale, quota, …)
 * and `opts.config` over the config; the default releases after 1 m and reuses after 5 m, so a test reaches
 * both by advancing the clock. `deps` replace the controller's store (or build it once the emulator runs,
 * e.g. from VMs the caller adds first) or logger.
 */
export async function controllerWorld<S = unknown>(
  kind: ProviderKind,
  instances: number,
  opts: Parameters<typeof startCloud>[1] = {},
  deps: Partial<Pick<ControllerDeps, 'logger'>> & { store?: Store | ((f: CloudFixture) => Promise<Store>) } = {},
): Promise<ControllerWorld<S>> {
  const f = await startCloud(kind, {
    instances,
    ...opts,
    config: { reconcile: { releaseAfter: '1m', reuseAfter: '5m' }, ...opts.config },
  });
  const store = typeof deps.store === 'function' ? await deps.store(f) : (deps.store ?? createMemoryStore());
  const clock = new ManualClock();
  const c = new Controller({
    config: f.config,
    provider: f.provider,
    inventory: cloudInventory(f.provider),
    store,
    leadership: new MemoryLeadership(),
    logger: deps.logger ?? silentLogger,
    clock,
  });
  const settle = async (max = 8, busy = unsettled) => {
    let r = await c.runOnce({ full: true });
    for (let i = 0; i < max && busy(r); i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await c.runOnce({ full: true });
    }
    return r;
  };
  return {
    f,
    store,
    clock,
    c,
    state: async () => (await f.admin('GET', 'state')).json as S,
    settle,
    count: (action) => f.calls.filter((x) => x.action === action).length,
    close: () => f.close(),
  };
}
