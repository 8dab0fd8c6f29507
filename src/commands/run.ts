import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { systemClock } from '../lib/clock.ts';
import { configPath, loadConfig, type Config } from '../config.ts';
import { Controller, type ControllerDeps } from '../controller.ts';
import { defaultIdentity } from '../store/leadership.ts';
import type { PassReport } from '../reconcile.ts';
import { RoutesyncMetrics } from '../metrics.ts';
import { QuotaWatcher } from '../quota.ts';
import { startServer } from '../server.ts';
import { buildStatus, type StatusDocument } from '../status.ts';
import { nodeSection, nodeStatusOf } from '../status-nodes.ts';
import { storeLocation } from '../store/index.ts';
import { openNodeReporter, openRuntime } from '../wiring.ts';
import {
  action,
  applyKubeconfigFlag,
  KUBECONFIG_HELP,
  EXIT,
  loggerFrom,
  withLogFlags,
  type LogFlags,
} from './common.ts';

export interface RunningController {
  controller: Controller;
  url: string;
  /** Resolves when the loop has ended (after `stop`) and everything is closed. */
  done: Promise<void>;
  stop(): void;
}

/** The controller with its HTTP server; shared by `run` and the demo. */
export async function startController(
  config: Config,
  logger: Logger,
  extra: Pick<ControllerDeps, 'onPass'> = {},
): Promise<RunningController> {
  const metrics = new RoutesyncMetrics({ provider: config.provider.type });
  const quotaWatcher = new QuotaWatcher({
    warnRatio: config.quota.warnRatio,
    criticalRatio: config.quota.criticalRatio,
    logger,
  });
  const rt = await openRuntime(config, { logger, observer: metrics.apiObserver });
  // Missing cloud credentials do not heal by retrying: one line and exit 1 rather than a loop of failed passes.
  try {
    await rt.provider.preflight?.();
  } catch (e) {
    await rt.close();
    throw e;
  }
  const reporter = await openNodeReporter(rt, { logger, registry: metrics.registry, instance: defaultIdentity() });
  const controller = new Controller({
    config,
    provider: rt.provider,
    inventory: rt.inventory,
    store: rt.store,
    leadership: rt.leadership,
    logger,
    clock: systemClock,
    metrics,
    quotaWatcher,
    ...(reporter ? { reporter } : {}),
    ...extra,
  });
  // /status serves the last pass's report from memory, built once per pass: a scraper polling it costs
  // no store or cloud read, and it answers even while etcd does not.
  let built: { report: PassReport; doc: StatusDocument } | undefined;
  // Kubernetes mode: the Node rows come from the watch cache at each request (memory, no API call), so the
  // NetworkUnavailable column shows what the Nodes carry now, not what they carried when the pass began.
  const nodes = nodeStatusOf(rt.inventory);
  const statusOf = (last: PassReport | undefined): unknown => {
    if (!last || controller.currentState !== 'leading')
      return {
        cluster: config.cluster,
        provider: config.provider.type,
        store: storeLocation(config),
        state: controller.currentState,
        lastPass: null,
      };
    if (built?.report !== last) {
      const doc = buildStatus({
        cluster: config.cluster,
        provider: config.provider.type,
        now: last.finishedAt,
        report: last,
        snapshot: last.store,
        leader: { id: defaultIdentity(), self: true },
        releaseAfterMs: config.reconcile.releaseAfter,
        store: storeLocation(config),
        ...(nodes ? { nodes } : {}),
      });
      built = { report: last, doc };
      return doc;
    }
    if (!nodes) return built.doc;
    const { nodesError: _stale, ...doc } = built.doc;
    return { ...doc, ...nodeSection(nodes, doc.allocations) };
  };
  let server;
  try {
    server = await startServer({
      listen: config.metrics.listen,
      metrics,
      logger,
      ready: () => controller.ready(),
      statusFrom: config.metrics.statusFrom,
      status: () => statusOf(controller.lastPass),
    });
  } catch (e) {
    await rt.close();
    throw e;
  }
  const stopper = new AbortController();
  const done = (async () => {
    try {
      await controller.run(stopper.signal);
    } finally {
      await server.close().catch(() => undefined);
      await reporter?.close();
      await rt.close();
    }
  })();
  logger.info(
    { url: server.url, cluster: config.cluster, provider: config.provider.type, store: storeLocation(config) },
    'routesync running',
  );
  return { controller, url: server.url, done, stop: () => stopper.abort() };
}

export async function runController(
  flags: { config?: string; kubeconfig?: string } & Partial<LogFlags>,
): Promise<number> {
  // A long-lived, I/O-bound process whose live heap is ~35 MB even at 5,000 VMs: V8's memory-over-speed
  // heuristics (heap growth, page release) keep RSS near it (bench/rss.ts: ~140 instead of ~190 MB at
  // 5,000 VMs). Set here, not on the command line: NODE_OPTIONS refuses this flag and the image's
  // entry point is plain `node bin/routesync.js`; only `run` (not one-off commands, not the demo) needs it.
  setFlagsFromString('--optimize-for-size');
  const config = applyKubeconfigFlag(loadConfig(configPath(flags.config)), flags.kubeconfig);
  // --log-level overrides the config's log.level for this run.
  const logger = loggerFrom({ logFormat: 'auto', ...flags }, config.log.level);
  const running = await startController(config, logger);
  const onSignal = (sig: string) => {
    logger.info({ signal: sig }, 'stopping: aborting the current step and resigning');
    running.stop();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  await running.done;
  logger.info('stopped');
  return EXIT.ok;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description(
      'Run the controller: campaign for leadership, reconcile every interval and on changes, serve /metrics /healthz /readyz /status',
    )
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)')
    .option('--kubeconfig <file>', KUBECONFIG_HELP);
  withLogFlags(cmd)
    .addHelpText(
      'after',
      "\nLogs: JSON lines on stderr, or human lines on a terminal (--log-format); --log-level overrides log.level.\n\nSIGTERM/SIGINT: stops taking work, aborts the step in flight, resigns leadership, exits 0.\n\nWith inventory.source kubernetes: after each pass, each Node's NetworkUnavailable condition (False once its route is in every table) and Events on transitions.\n\nExamples:\n  routesync run -c /etc/routesync/config.yaml\n  ROUTESYNC_CONFIG=routesync.yaml routesync run",
    )
    .action(action((flags: { config?: string; kubeconfig?: string } & LogFlags) => runController(flags)));
}
