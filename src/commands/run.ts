import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { systemClock } from '../clock.ts';
import { configPath, loadConfig, type Config } from '../config.ts';
import { Controller, type ControllerDeps } from '../controller.ts';
import { RoutesyncMetrics } from '../metrics.ts';
import { QuotaWatcher } from '../quota.ts';
import { startServer } from '../server.ts';
import { buildStatus } from '../status.ts';
import { storeLocation } from '../store/index.ts';
import { openRuntime } from '../wiring.ts';
import { action, EXIT, loggerFrom, withLogFlags, type LogFlags } from './common.ts';

export interface RunningController {
  controller: Controller;
  url: string;
  /** Resolves when the loop has ended (after `stop`) and everything is closed. */
  done: Promise<void>;
  stop(): void;
}

/** The controller with its HTTP server; shared by `run` and the demo. */
export async function startController(config: Config, logger: Logger, extra: Pick<ControllerDeps, 'onPass'> = {}): Promise<RunningController> {
  const metrics = new RoutesyncMetrics({ provider: config.provider.type });
  const quotaWatcher = new QuotaWatcher({ warnRatio: config.quota.warnRatio, criticalRatio: config.quota.criticalRatio, logger });
  const rt = await openRuntime(config, { logger, observer: metrics.apiObserver });
  const controller = new Controller({ config, provider: rt.provider, store: rt.store, leadership: rt.leadership, logger, clock: systemClock, metrics, quotaWatcher, ...extra });
  let server;
  try {
    server = await startServer({
      listen: config.metrics.listen,
      metrics,
      logger,
      ready: () => controller.ready(),
      status: async () => {
        const last = controller.lastPass;
        if (!last) return { cluster: config.cluster, provider: config.provider.type, store: storeLocation(config), state: controller.currentState, lastPass: null };
        const snapshot = await rt.store.load();
        const leaderId = await rt.leadership.leader().catch(() => undefined);
        return buildStatus({
          cluster: config.cluster,
          provider: config.provider.type,
          now: systemClock.now(),
          report: last,
          snapshot,
          leader: { ...(leaderId !== undefined ? { id: leaderId } : {}), self: rt.leadership.isLeader() },
          releaseAfterMs: config.reconcile.releaseAfter,
          store: storeLocation(config),
        });
      },
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
      await rt.close();
    }
  })();
  logger.info({ url: server.url, cluster: config.cluster, provider: config.provider.type, store: storeLocation(config) }, 'routesync running');
  return { controller, url: server.url, done, stop: () => stopper.abort() };
}

export async function runController(flags: { config?: string } & Partial<LogFlags>): Promise<number> {
  // A long-lived, I/O-bound process whose live heap is ~35 MB even at 5,000 VMs: V8's memory-over-speed
  // heuristics (heap growth, page release) keep RSS near it (bench/rss.ts: ~140 instead of ~190 MB at
  // 5,000 VMs). Set here, not on the command line: NODE_OPTIONS refuses this flag and the image's
  // entry point is plain `node bin/routesync.js`; only `run` (not one-off commands, not the demo) needs it.
  setFlagsFromString('--optimize-for-size');
  const config = loadConfig(configPath(flags.config));
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
    .description('Run the controller: campaign for leadership, reconcile every interval and on changes, serve /metrics /healthz /readyz /status')
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)');
  withLogFlags(cmd)
    .addHelpText(
      'after',
      '\nLogs: JSON lines on stderr, or human lines on a terminal (--log-format); --log-level overrides log.level.\n\nSIGTERM/SIGINT: stops taking work, aborts the step in flight, resigns leadership, exits 0.\n\nExamples:\n  routesync run -c /etc/routesync/config.yaml\n  ROUTESYNC_CONFIG=routesync.yaml routesync run',
    )
    .action(action((flags: { config?: string } & LogFlags) => runController(flags)));
}
