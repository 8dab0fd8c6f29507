import type { Command } from 'commander';
import type { ProgressEvent } from '../../providers/types.ts';
import { systemClock } from '../clock.ts';
import { configPath, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { reconcileOnce, type PassReport } from '../reconcile.ts';
import { progressReporter } from '../progress.ts';
import { renderOutcome, renderPlan } from '../render.ts';
import { openRuntime, takeLeadershipOnce } from '../wiring.ts';
import { action, EXIT, UsageError } from './common.ts';

export interface ReconcileFlags {
  config?: string;
  dryRun?: boolean;
  output: string;
  logLevel: string;
}

export function jsonDocument(report: PassReport): unknown {
  return {
    dryRun: report.dryRun,
    converged: report.converged,
    inventory: report.inventory,
    safetyValve: report.valve,
    allocated: report.allocated,
    released: report.released,
    plan: { changes: report.plan.changes, findings: report.plan.findings, summary: report.plan.summary },
    results: report.results.map((r) => ({
      ...r.change,
      outcome: r.outcome,
      ...(r.requestId ? { requestId: r.requestId } : {}),
      ...(r.error ? { error: { kind: r.error.kind, code: r.error.code, message: r.error.message } } : {}),
    })),
    quota: Object.fromEntries(report.tables.map((t) => [t.id, t.quota ?? null])),
    tables: report.tables,
    errors: report.errors,
    ...(report.stopped ? { stopped: report.stopped } : {}),
  };
}

export async function runReconcile(flags: ReconcileFlags, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (flags.output !== 'table' && flags.output !== 'json') throw new UsageError(`-o/--output: "${flags.output}" must be table or json`);
  const config = loadConfig(configPath(flags.config));
  const logger = createLogger(flags.logLevel as 'warn', err);
  const rt = await openRuntime(config, { logger });
  const stop = new AbortController();
  const progress = progressReporter(err);
  const onSig = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    // A dry run writes nothing, so it needs no lock and may run beside `routesync run`.
    if (!flags.dryRun) await takeLeadershipOnce(rt.leadership, Math.min(config.store.electionTTL, 5000));
    const report = await reconcileOnce(
      {
        config,
        provider: rt.provider,
        store: rt.store,
        logger,
        clock: systemClock,
        signal: stop.signal,
        dryRun: flags.dryRun === true,
        fence: () => rt.leadership.fence(),
        ...(flags.output === 'table' ? { onProgress: (e: ProgressEvent) => progress.onProgress(e) } : {}),
      },
      { quotaExceeded: new Set() },
      { full: true },
    );
    progress.done();
    if (flags.output === 'json') out.write(`${JSON.stringify(jsonDocument(report), null, 2)}\n`);
    else {
      out.write(renderPlan(report));
      if (!flags.dryRun) out.write(renderOutcome(report));
    }
    return report.converged || (flags.dryRun && dryRunClean(report)) ? EXIT.ok : EXIT.incomplete;
  } finally {
    progress.done();
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    if (!flags.dryRun && rt.leadership.isLeader()) await rt.leadership.resign().catch(() => undefined);
    await rt.close();
  }
}

/** A dry run is clean when applying it would converge: every table read, nothing blocked, held or conflicting. */
function dryRunClean(r: PassReport): boolean {
  return r.errors.length === 0 && !r.valve.held && r.plan.findings.every((f) => f.kind === 'pending');
}

export function register(program: Command): void {
  program
    .command('reconcile')
    .description('One reconcile pass: print the plan like `terraform plan`, then apply it (unless --dry-run)')
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)')
    .option('--dry-run', 'plan only: no allocations persisted, no cloud writes (new VMs get tentative subnets)')
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--log-level <level>', 'log level for the JSON logs on stderr', 'warn')
    .addHelpText(
      'after',
      `
Plan lines: + create, ~ replace, - delete, ! conflict (a foreign route holds our subnet),
⊘ blocked:quota, … pending (the cloud is still creating it), ‖ held (safety valve).

Exit codes: 0 the tables match the desired state (--dry-run: applying the plan would get there),
            1 something could not be applied (quota, conflict, held deletes, errors, lock held by \`run\`),
            2 bad config or usage.

Refuses (exit 1, naming the pid or the leader) while a \`routesync run\` holds the file store's lock or
leads through etcd; --dry-run needs no lock.

Examples:
  routesync reconcile -c routesync.yaml --dry-run
  routesync reconcile -c routesync.yaml
  routesync reconcile -c routesync.yaml -o json | jq .plan.changes`,
    )
    .action(action((flags: ReconcileFlags) => runReconcile(flags)));
}
