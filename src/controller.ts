// `routesync run`: campaign for leadership, then reconcile every interval and on change signals (coalesced
// by the debounce window), with exponential backoff on failures. Only the leader writes (I4): leadership
// is fenced before every write and its loss aborts the pass in flight.
import type { Logger } from 'pino';
import type { CloudProvider } from '../providers/types.ts';
import type { Clock } from './lib/clock.ts';
import type { Config } from './config.ts';
import type { InventorySource } from './inventory/source.ts';
import type { RoutesyncMetrics } from './metrics.ts';
import { afterWrites, observeReport } from './pass-report.ts';
import type { QuotaWatcher } from './quota.ts';
import { reconcileOnce, type PassMemory, type PassReport } from './reconcile.ts';
import { RecurringWarnings } from './recurring.ts';
import type { Leadership, Store } from './store/types.ts';

export interface ControllerDeps {
  config: Config;
  provider: CloudProvider;
  inventory: InventorySource;
  store: Store;
  leadership: Leadership;
  logger: Logger;
  clock: Clock;
  metrics?: RoutesyncMetrics;
  quotaWatcher?: QuotaWatcher;
  maxDeletes?: number;
  /**
   * Kubernetes mode: the Nodes' NetworkUnavailable and Events (src/kubernetes/node-reporter.ts). Told before
   * each pass and given each report; it never holds the pass up.
   */
  reporter?: { passStarting(): void; passDone(report: PassReport): void };
  /** Called after every pass that completed (the demo prints one line per pass from it). */
  onPass?: (report: PassReport, ms: number, full: boolean) => void;
}

export type ControllerState = 'idle' | 'campaigning' | 'leading' | 'stopping' | 'stopped';

const BACKOFF_BASE_MS = 1000;
/** Under the example Deployment's probe timeout (3 s), so a slow store is a 503 and not a probe timeout. */
export const READY_STORE_TIMEOUT_MS = 2000;

export class Controller {
  private readonly deps: ControllerDeps;
  private readonly memory: PassMemory = { quotaExceeded: new Set() };
  private state: ControllerState = 'idle';
  private last: PassReport | undefined;
  private lastError: string | undefined;
  private failures = 0;
  private lastGoodAt: number | undefined;
  private nextFullAt = 0;
  /** Earliest change signal not yet served: the pass runs at this + debounce. */
  private pendingSince: number | undefined;
  private pendingReasons = new Set<string>();
  private wake: (() => void) | undefined;
  private passAbort: AbortController | undefined;
  private lostHooked = false;
  private passes = 0;
  private readonly warnings: RecurringWarnings;

  constructor(deps: ControllerDeps) {
    this.deps = deps;
    this.warnings = new RecurringWarnings(deps.logger, deps.metrics);
  }

  get lastPass(): PassReport | undefined {
    return this.last;
  }

  get currentState(): ControllerState {
    return this.state;
  }

  get passCount(): number {
    return this.passes;
  }

  /** A change worth a pass soon (instance set changed, drift seen, leadership gained): coalesced by debounce. */
  notify(reason: string): void {
    this.pendingSince ??= this.deps.clock.now();
    this.pendingReasons.add(reason);
    this.wake?.();
  }

  /**
   * Readiness means "able to act": a standby is ready when it can reach the store (so it can campaign and
   * take over); the leader when it also had a good pass lately. Nobody is ready while the store does not
   * answer within READY_STORE_TIMEOUT_MS: a frozen or refusing etcd makes every replica unready.
   */
  async ready(): Promise<{ ok: boolean; reason?: string }> {
    if (this.state !== 'campaigning' && this.state !== 'leading')
      return { ok: false, reason: `controller ${this.state}` };
    try {
      await this.deps.store.ping(READY_STORE_TIMEOUT_MS);
    } catch (e) {
      return { ok: false, reason: `store unreachable: ${e instanceof Error ? e.message : String(e)}` };
    }
    // Re-read: the state may have changed while the store answered.
    if (this.state === 'campaigning') return { ok: true, reason: 'standby: store reachable, campaigning' };
    if (this.state !== 'leading') return { ok: false, reason: `controller ${this.state}` };
    if (this.lastGoodAt === undefined) return { ok: false, reason: 'no successful reconcile pass yet' };
    // Not ready once passes keep failing for three intervals: the cloud or the store is out of reach.
    const age = this.deps.clock.now() - this.lastGoodAt;
    const limit = 3 * this.deps.config.reconcile.interval;
    if (age > limit) return { ok: false, reason: `no successful reconcile pass for ${Math.round(age / 1000)}s` };
    return { ok: true };
  }

  /** Runs one pass now (leader only). Tests drive the controller through this. */
  async runOnce(opts: { full: boolean } = { full: true }, signal?: AbortSignal): Promise<PassReport> {
    const { deps } = this;
    const ac = new AbortController();
    this.passAbort = ac;
    const onOuter = () => ac.abort(signal?.reason ?? 'stopping');
    signal?.addEventListener('abort', onOuter, { once: true });
    const t0 = deps.clock.now();
    const prevInstances = this.last ? new Set(this.last.allocations.map((a) => a.instanceId)) : undefined;
    deps.reporter?.passStarting();
    try {
      const raw = await reconcileOnce(
        {
          config: deps.config,
          provider: deps.provider,
          inventory: deps.inventory,
          store: deps.store,
          logger: deps.logger,
          clock: deps.clock,
          signal: ac.signal,
          fence: async () => {
            if (ac.signal.aborted) throw new Error(`aborted: ${String(ac.signal.reason)}`);
            await deps.leadership.fence();
          },
          fenceNow: () => {
            if (ac.signal.aborted) throw new Error(`aborted: ${String(ac.signal.reason)}`);
            deps.leadership.checkNow();
          },
          onResult: (r) => deps.metrics?.changeApplied(r.change.op, r.outcome),
          warnings: this.warnings,
        },
        this.memory,
        { full: opts.full, ...(deps.maxDeletes !== undefined ? { maxDeletes: deps.maxDeletes } : {}) },
      );
      // Metrics, quota warnings and /status see each table's quota after this pass's writes.
      const report = afterWrites(raw);
      observeReport(report, {
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.quotaWatcher ? { quotaWatcher: deps.quotaWatcher } : {}),
        now: deps.clock.now(),
      });
      this.passes++;
      this.last = report;
      deps.reporter?.passDone(report);
      this.lastError = undefined;
      const ok =
        report.errors.length === 0 &&
        report.stopped === undefined &&
        !report.results.some((r) => r.outcome === 'failed');
      deps.metrics?.observePass((deps.clock.now() - t0) / 1000, ok, deps.clock.now());
      if (ok) {
        this.failures = 0;
        this.lastGoodAt = deps.clock.now();
      } else this.failures++;
      // Follow-ups: what changed this pass is verified by the next one without waiting a full interval.
      const applied = report.results.some((r) => r.outcome === 'applied');
      const pending = report.plan.findings.some((f) => f.kind === 'pending');
      const nowInstances = new Set(report.allocations.map((a) => a.instanceId));
      if (ok && (applied || pending)) this.notify(applied ? 'routes changed' : 'routes pending');
      else if (
        ok &&
        prevInstances &&
        (prevInstances.size !== nowInstances.size || [...nowInstances].some((i) => !prevInstances.has(i)))
      )
        this.notify('instance set changed');
      deps.logger.info(
        {
          full: opts.full,
          ms: deps.clock.now() - t0,
          changes: report.plan.changes.length,
          failed: report.results.filter((r) => r.outcome === 'failed').length,
          findings: report.plan.findings.length,
          converged: report.converged,
          valve: report.valve.held,
        },
        'reconcile pass done',
      );
      deps.onPass?.(report, deps.clock.now() - t0, opts.full);
      return report;
    } catch (e) {
      this.failures++;
      this.lastError = e instanceof Error ? e.message : String(e);
      deps.metrics?.observePass((deps.clock.now() - t0) / 1000, false, deps.clock.now());
      throw e;
    } finally {
      signal?.removeEventListener('abort', onOuter);
      this.passAbort = undefined;
    }
  }

  /** Delay before the next pass after `failures` failed passes in a row: exponential, capped at the interval. */
  backoffMs(failures = this.failures): number {
    if (failures <= 0) return 0;
    return Math.min(this.deps.config.reconcile.interval, BACKOFF_BASE_MS * 2 ** (failures - 1));
  }

  /** The loop. Returns after `stop` aborts: the pass in flight is aborted, leadership resigned. */
  async run(stop: AbortSignal): Promise<void> {
    const { deps } = this;
    const { leadership, clock, logger } = deps;
    if (!this.lostHooked) {
      this.lostHooked = true;
      leadership.onLost(() => {
        logger.warn('leadership lost: aborting the pass in flight');
        deps.metrics?.setLeader(false);
        this.passAbort?.abort('leadership lost');
        this.wake?.();
      });
    }
    const onStop = () => {
      this.state = 'stopping';
      this.passAbort?.abort('stopping');
      this.wake?.();
    };
    stop.addEventListener('abort', onStop, { once: true });
    // A source with a change signal (Kubernetes Nodes) gets a pass soon after a change, not at the next interval.
    const unwatch = deps.inventory.watch?.((reason) => this.notify(reason));
    try {
      while (!stop.aborted) {
        if (!leadership.isLeader()) {
          this.state = 'campaigning';
          deps.metrics?.setLeader(false);
          logger.info('campaigning for leadership');
          try {
            await leadership.campaign(stop);
          } catch (e) {
            if (stop.aborted) break;
            logger.error({ err: (e as Error).message }, 'campaign failed; retrying');
            await this.sleep(this.backoffMs(Math.max(1, ++this.failures)), stop);
            continue;
          }
          this.state = 'leading';
          deps.metrics?.setLeader(true);
          logger.info('leading: reconciling');
          this.nextFullAt = clock.now();
          this.notify('leadership gained');
        }
        this.state = 'leading';
        const now = clock.now();
        const backoffUntil = this.failures > 0 && this.last ? this.last.finishedAt + this.backoffMs() : 0;
        const signalAt =
          this.pendingSince !== undefined
            ? this.pendingSince + deps.config.reconcile.debounce
            : Number.POSITIVE_INFINITY;
        const dueAt = Math.max(Math.min(this.nextFullAt, signalAt), backoffUntil);
        if (dueAt > now) {
          await this.sleep(dueAt - now, stop);
          continue;
        }
        const full = clock.now() >= this.nextFullAt;
        const reasons = [...this.pendingReasons];
        this.pendingSince = undefined;
        this.pendingReasons.clear();
        if (full) this.nextFullAt = clock.now() + deps.config.reconcile.interval;
        logger.debug({ full, reasons }, 'reconcile pass starting');
        try {
          await this.runOnce({ full }, stop);
        } catch (e) {
          if (stop.aborted) break;
          logger.error(
            { err: (e as Error).message, failures: this.failures, retryInMs: this.backoffMs() },
            'reconcile pass failed',
          );
          // Not a full-pass failure only: make sure a retry happens after the backoff.
          this.nextFullAt = Math.min(this.nextFullAt, clock.now() + this.backoffMs());
        }
      }
    } finally {
      stop.removeEventListener('abort', onStop);
      unwatch?.();
      this.state = 'stopping';
      if (leadership.isLeader()) {
        await leadership.resign().catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'resign failed'));
      }
      deps.metrics?.setLeader(false);
      this.state = 'stopped';
    }
  }

  /** Sleeps until `ms` passed, a change signal arrives, leadership is lost or `stop` aborts. */
  private async sleep(ms: number, stop: AbortSignal): Promise<void> {
    if (stop.aborted) return;
    const ac = new AbortController();
    const onStop = () => ac.abort();
    stop.addEventListener('abort', onStop, { once: true });
    this.wake = () => ac.abort();
    try {
      await this.deps.clock.sleep(ms, ac.signal);
    } catch {
      // woken early: the loop re-evaluates what is due
    } finally {
      this.wake = undefined;
      stop.removeEventListener('abort', onStop);
    }
  }

  status(): { state: ControllerState; lastError?: string; failures: number; lastPass?: PassReport } {
    return {
      state: this.state,
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.last ? { lastPass: this.last } : {}),
    };
  }
}
