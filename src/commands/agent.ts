// `routesync agent`: the node side, one per VM (systemd unit or DaemonSet). See src/agent/.
import type { Command } from 'commander';
import { Agent, SyncError } from '../agent/agent.ts';
import { Iptables } from '../agent/iptables.ts';
import { AgentMetrics, startAgentServer } from '../agent/metrics.ts';
import { systemClock } from '../lib/clock.ts';
import { configPath, loadConfig } from '../config.ts';
import { openAgentStore } from '../agent/store.ts';
import { openNodeSource } from '../agent/node-source.ts';
import { action, EXIT, loggerFrom, UsageError, withLogFlags, type LogFlags } from './common.ts';

interface Flags extends Partial<LogFlags> {
  config?: string;
  once?: boolean;
  cleanup?: boolean;
}

export async function runAgent(flags: Flags): Promise<number> {
  if (flags.once && flags.cleanup) throw new UsageError('--once and --cleanup: give one of them');
  const config = loadConfig(configPath(flags.config));
  // --log-level overrides the config's log.level.
  const logger = loggerFrom({ logFormat: 'auto', ...flags }, config.log.level);
  const store = await openAgentStore(config, logger);
  const metrics = new AgentMetrics();
  const kube = config.agent.identity.source === 'kubernetes';
  const nodes = kube ? await openNodeSource(config.agent.identity.kubeconfig) : undefined;
  const agent = new Agent({
    config,
    store,
    iptables: new Iptables(),
    logger,
    clock: systemClock,
    metrics,
    ...(nodes ? { nodes } : {}),
  });
  try {
    if (flags.cleanup) {
      const removed = await agent.cleanup();
      logger.info({ removed }, 'agent rules and files removed');
      return EXIT.ok;
    }
    if (flags.once) {
      const r = await agent.sync();
      if (!r.subnet)
        throw new Error(
          `no subnet allocated to ${r.instanceId} in the store yet (is the controller running?); rules installed, subnet.env not written`,
        );
      return EXIT.ok;
    }
    const server = await startAgentServer(config.agent.metrics.listen, metrics, () => agent.ready());
    const stop = new AbortController();
    const onSignal = (signal: string) => {
      // The rules stay: traffic keeps flowing while the agent restarts. `--cleanup` removes them.
      logger.info({ signal }, 'stopping (rules and files stay in place)');
      stop.abort();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
    logger.info(
      { url: server.url, cluster: config.cluster, provider: config.provider.type, store: config.store.type },
      'routesync agent running',
    );
    await agent.run(stop.signal);
    await server.close();
    return EXIT.ok;
  } catch (e) {
    if (e instanceof SyncError) throw new Error(`agent ${e.reason}: ${e.message}`);
    throw e;
  } finally {
    await store.close().catch(() => undefined);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('agent')
    .description(
      'Run the node agent on this VM: learn its subnet, write subnet.env / CNI config, keep the masquerade and ingress iptables rules',
    )
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)')
    .option('--once', 'sync once and exit (0 ok; 1 with one line on failure or while no subnet is allocated yet)')
    .option('--cleanup', 'remove every iptables chain and rule the agent installed and the files it wrote, then exit');
  withLogFlags(cmd)
    .addHelpText(
      'after',
      '\nNeeds root (or CAP_NET_ADMIN + CAP_NET_RAW). SIGTERM/SIGINT stop the agent and leave rules and files in place.\n\nExamples:\n  routesync agent -c /etc/routesync/config.yaml\n  routesync agent -c /etc/routesync/config.yaml --once\n  routesync agent -c /etc/routesync/config.yaml --cleanup',
    )
    .action(action((flags: Flags) => runAgent(flags)));
}
