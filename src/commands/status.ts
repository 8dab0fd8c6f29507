import type { Command } from 'commander';
import { systemClock } from '../lib/clock.ts';
import { configPath, loadConfig } from '../config.ts';
import { progressReporter } from '../progress.ts';
import { reconcileOnce } from '../reconcile.ts';
import { buildStatus, renderStatus } from '../status.ts';
import { nodesOption } from '../status-nodes.ts';
import { storeLocation } from '../store/index.ts';
import { preflight } from '../preflight.ts';
import { openRuntime } from '../wiring.ts';
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

export interface StatusFlags extends Partial<LogFlags> {
  config?: string;
  kubeconfig?: string;
  output: string;
}

export async function runStatus(flags: StatusFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (flags.output !== 'table' && flags.output !== 'json')
    throw new UsageError(`-o/--output: "${flags.output}" must be table or json`);
  const config = applyKubeconfigFlag(loadConfig(configPath(flags.config)), flags.kubeconfig);
  const logger = loggerFrom({ logFormat: 'auto', ...flags }, 'error');
  // One list of the Nodes (inventory.source kubernetes), no watch: the pass and the Node rows see the same list.
  const rt = await openRuntime(config, { logger, listOnly: true });
  // On a terminal, what is being read while a big inventory or table is listed; nothing on a pipe.
  const progress = progressReporter(process.stderr);
  try {
    await preflight(config, rt);
    const snapshot = await rt.store.load();
    // A dry pass reads exactly what a real one would (inventory, routes, quota) and writes nothing.
    const report = await reconcileOnce(
      {
        config,
        provider: rt.provider,
        inventory: rt.inventory,
        store: rt.store,
        logger,
        clock: systemClock,
        signal: new AbortController().signal,
        dryRun: true,
        fence: () => undefined,
        onProgress: (e) => progress.onProgress(e),
      },
      { quotaExceeded: new Set() },
      { full: true },
    );
    progress.done();
    const leaderId = config.store.type === 'memory' ? undefined : await rt.leadership.leader().catch(() => undefined);
    const doc = buildStatus({
      cluster: config.cluster,
      provider: config.provider.type,
      now: systemClock.now(),
      report,
      snapshot,
      leader: leaderId === undefined ? null : { id: leaderId, self: false },
      store: storeLocation(config),
      fromDryRun: true,
      releaseAfterMs: config.reconcile.releaseAfter,
      ...nodesOption(rt.inventory),
    });
    out.write(flags.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderStatus(doc));
    return EXIT.ok;
  } finally {
    progress.done();
    await rt.close();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description(
      'Store in use, allocations, routes per table by state, quota use and forecast, current leader; with inventory.source kubernetes one row per Node',
    )
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)')
    .option('--kubeconfig <file>', KUBECONFIG_HELP)
    .option('-o, --output <format>', "table or json (the same document as the server's /status)", 'table');
  withLogFlags(cmd, 'error')
    .addHelpText(
      'after',
      '\nRead-only: safe while `routesync run` is running. Fails within seconds (exit 1, one line) when the store or\nprovider.endpoint does not answer (3 s each) or there are no cloud credentials.\n\nWith inventory.source kubernetes it lists the Nodes once (no watch) and shows one row per Node: its\nproviderID, the VM it maps to, spec.podCIDR next to the subnet allocated to that VM, the NetworkUnavailable\ncondition as the Node carries it, and why it gets no route (missing/malformed providerID, vm-not-found,\nexcluded, podcidr-mismatch, …); -o json has them under `nodes`.\n\nExamples:\n  routesync status -c routesync.yaml\n  routesync status -c routesync.yaml -o json | jq .tables',
    )
    .action(action((flags: StatusFlags) => runStatus(flags)));
}
