import type { Command } from 'commander';
import { systemClock } from '../lib/clock.ts';
import { configPath, loadConfig } from '../config.ts';
import type { ApprovedPlan } from '../approval.ts';
import { afterWrites } from '../pass-report.ts';
import { reconcileOnce, type PassReport } from '../reconcile.ts';
import { progressReporter, type PassProgressEvent } from '../progress.ts';
import { renderOutcome, renderPlan } from '../render.ts';
import { preflight } from '../preflight.ts';
import { openRuntime, takeLeadershipOnce } from '../wiring.ts';
import {
  action,
  applyKubeconfigFlag,
  KUBECONFIG_HELP,
  EXIT,
  loggerFrom,
  UsageError,
  withLogFlags,
  type LogFlags,
} from './common.ts';
import { terminalConfirm, type Confirm } from './confirm.ts';

export interface ReconcileFlags extends LogFlags {
  config?: string;
  kubeconfig?: string;
  dryRun?: boolean;
  yes?: boolean;
  output: string;
}

export function jsonDocument(report: PassReport): unknown {
  return {
    dryRun: report.dryRun,
    converged: report.converged,
    inventory: report.inventory,
    safetyValve: report.valve,
    allocated: report.allocated,
    adopted: report.adopted,
    ...(report.migrated ? { migrated: report.migrated } : {}),
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

export interface ReconcileIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Where the answer to "apply this plan?" comes from; undefined: no terminal to ask on. */
  confirm?: Confirm;
}

function defaultIO(): ReconcileIO {
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return {
    out: process.stdout,
    err: process.stderr,
    ...(interactive ? { confirm: terminalConfirm(process.stdin, process.stderr) } : {}),
  };
}

const QUESTION = `
Do you want to apply this plan?
  routesync will make the changes above. Only 'yes' will be accepted to approve.

  Enter a value: `;

export async function runReconcile(flags: ReconcileFlags, io: ReconcileIO = defaultIO()): Promise<number> {
  const { out, err } = io;
  if (flags.output !== 'table' && flags.output !== 'json')
    throw new UsageError(`-o/--output: "${flags.output}" must be table or json`);
  const config = applyKubeconfigFlag(loadConfig(configPath(flags.config)), flags.kubeconfig);
  const apply = flags.dryRun !== true;
  // Refused before any cloud call: nothing has been read yet, so nothing is lost.
  if (apply && flags.yes !== true) {
    if (flags.output === 'json')
      throw new UsageError(
        '-o json cannot ask before applying: add --yes to apply without asking, or --dry-run to only plan',
      );
    if (!io.confirm)
      throw new UsageError(
        'reconcile asks before applying and there is no terminal to ask on: add --yes to apply without asking, or --dry-run to only plan',
      );
  }
  const progress = progressReporter(err);
  // A log line first clears the terminal's in-place progress line, so it starts a line of its own.
  const logTo = Object.assign(Object.create(err) as typeof err, {
    write: (line: string) => {
      progress.done();
      return err.write(line);
    },
  });
  const logger = loggerFrom(flags, 'warn', logTo);
  const rt = await openRuntime(config, { logger });
  const stop = new AbortController();
  const onSig = () => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  // Shown with each table's quota after the pass's writes (a dry pass writes nothing).
  const pass = async (dryRun: boolean, approved?: ApprovedPlan) =>
    afterWrites(
      await reconcileOnce(
        {
          config,
          provider: rt.provider,
          inventory: rt.inventory,
          store: rt.store,
          logger,
          clock: systemClock,
          signal: stop.signal,
          dryRun,
          fence: () => rt.leadership.fence(),
          fenceNow: () => rt.leadership.checkNow(),
          // Every pass: the planning one shows its reads on a terminal, the applying one its reads and writes.
          ...(flags.output === 'table' ? { onProgress: (e: PassProgressEvent) => progress.onProgress(e) } : {}),
        },
        { quotaExceeded: new Set() },
        { full: true, ...(approved ? { approved } : {}) },
      ),
    );
  try {
    await preflight(config, rt);
    // A dry run writes nothing, so it needs no lock and may run beside `routesync run`. A real one takes
    // the lock before planning: a plan that could not be applied is not worth showing or asking about.
    if (apply) await takeLeadershipOnce(rt.leadership, Math.min(config.store.electionTTL, 5000));
    if (flags.output === 'json') {
      // Nothing is shown before applying (--yes): one pass plans and applies, and the document reports both.
      const report = await pass(!apply);
      out.write(`${JSON.stringify(jsonDocument(report), null, 2)}\n`);
      return exitCode(report);
    }
    // The plan as read, from a pass that writes nothing; its quota is the tables' before any write.
    const shown = await pass(true);
    out.write(renderPlan(shown));
    if (!apply) return exitCode(shown);
    const nothingToDo = shown.plan.changes.length === 0 && shown.allocated.length === 0;
    if (!nothingToDo && flags.yes !== true && !(await (io.confirm as Confirm)(QUESTION, stop.signal))) {
      err.write('Apply cancelled: nothing was written.\n');
      return EXIT.incomplete;
    }
    // Planned again at apply time: the tables may have moved while the question was open, and a stale
    // plan is never applied (PlanChangedError, before any write).
    const report = await pass(false, { allocated: shown.allocated, changes: shown.plan.changes });
    progress.done();
    out.write(renderOutcome(report, shown.plan.changes.length));
    return exitCode(report);
  } finally {
    progress.done();
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    if (apply && rt.leadership.isLeader()) await rt.leadership.resign().catch(() => undefined);
    await rt.close();
  }
}

function exitCode(r: PassReport): number {
  return r.converged || (r.dryRun && dryRunClean(r)) ? EXIT.ok : EXIT.incomplete;
}

/** A dry run is clean when applying it would converge: every table read, nothing blocked, held or conflicting. */
function dryRunClean(r: PassReport): boolean {
  return r.errors.length === 0 && !r.valve.held && r.plan.findings.every((f) => f.kind === 'pending');
}

export function register(program: Command): void {
  const cmd = program
    .command('reconcile')
    .description('One reconcile pass: print the plan like `terraform plan`, ask, then apply it (unless --dry-run)')
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)')
    .option('--kubeconfig <file>', KUBECONFIG_HELP)
    .option('--dry-run', 'plan only: no allocations persisted, no cloud writes (new VMs get tentative subnets)')
    .option('-y, --yes', 'apply the plan without asking (needed without a terminal, and with -o json)')
    .option('-o, --output <format>', 'table or json', 'table');
  withLogFlags(cmd, 'warn')
    .addHelpText(
      'after',
      `
Prints the plan as read (nothing written yet), asks on the terminal, then applies it. Only "yes" approves.
At apply time the plan is made again: if it holds anything that was not shown (a VM came, a route moved),
nothing is applied and reconcile exits 1 saying what changed; what became done meanwhile is skipped.
Without a terminal, or with -o json, it applies only with --yes (exit 2 otherwise).

Plan lines: + create, ~ replace, - delete, ! conflict (a foreign route holds our subnet),
⊘ blocked:quota, … pending (the cloud is still creating it), ‖ held (safety valve),
= adopt (a route of ours the store did not hold, taken into the store as that VM's allocation),
? orphan (a route of ours the store does not account for and could not adopt: left alone, exit 1).

Exit codes: 0 the tables match the desired state (--dry-run: applying the plan would get there),
            1 something could not be applied (quota, conflict, held deletes, errors, lock held by \`run\`,
              the plan changed before it was applied, the apply was cancelled at the prompt,
              the store or provider.endpoint did not answer within 3 s, there are no cloud credentials),
            2 bad config or usage (also: no terminal to ask on and no --yes).

Refuses (exit 1, naming the pid or the leader) while a \`routesync run\` holds the file store's lock or
leads through etcd; --dry-run needs no lock.

Examples:
  routesync reconcile -c routesync.yaml --dry-run
  routesync reconcile -c routesync.yaml
  routesync reconcile -c routesync.yaml --yes             # in a script or CI job
  routesync reconcile -c routesync.yaml -o json --yes | jq .results`,
    )
    .action(action((flags: ReconcileFlags) => runReconcile(flags)));
}
