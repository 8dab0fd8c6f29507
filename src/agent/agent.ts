// One VM's agent: who am I → my subnet → rules (masquerade, forward, ingress) and forwarding → subnet.env
// and CNI config. Each sync re-checks everything and changes only what differs, so a rule flushed behind
// its back or a file edited comes back within one resync. A failure leaves what is installed as it was.
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.ts';
import type { Config } from '../config.ts';
import type { Store } from '../store/types.ts';
import { renderCniConflist, renderSubnetEnv, writeIfChanged } from './files.ts';
import { whoAmI } from './identity.ts';
import { readIpMasqConfig } from './ipmasq.ts';
import type { Iptables } from './iptables.ts';
import type { AgentMetrics } from './metrics.ts';
import { defaultInterface, interfaceMtu } from './mtu.ts';
import { defaultNonMasquerade, renderRules, type RuleSet } from './rules.ts';
import type { NodeSource } from './node-source.ts';
import { checkSubnet, subnetOf } from './subnet-source.ts';

export interface AgentDeps {
  config: Config;
  store: Store;
  iptables: Iptables;
  logger: Logger;
  clock: Clock;
  metrics: AgentMetrics;
  /** Kubernetes mode (identity.source kubernetes): the subnet is the Node's spec.podCIDR, not the store's. */
  nodes?: NodeSource;
  /** Where IPv4 forwarding is switched on; tests point it into a temp dir. */
  ipForwardPath?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SyncResult {
  instanceId: string;
  /** Undefined while the controller has not allocated one. */
  subnet?: string;
  rulesChanged: boolean;
  filesChanged: string[];
  durationMs: number;
  restoreMs?: number;
}

/** The step a sync failed in, for the error metric and the log. */
export class SyncError extends Error {
  readonly reason: string;
  constructor(reason: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'SyncError';
    this.reason = reason;
  }
}

const step = async <T>(reason: string, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } catch (e) {
    throw new SyncError(reason, e);
  }
};

export class Agent {
  private readonly d: AgentDeps;
  private instanceId: string | undefined;
  private subnet: string | undefined;
  private lastOk = false;
  private lastError: string | undefined;
  private resyncMs: number;
  private waitingLogged = false;

  constructor(deps: AgentDeps) {
    this.d = deps;
    this.resyncMs = deps.config.agent.resyncInterval;
  }

  ready(): { ok: boolean; reason?: string } {
    if (!this.instanceId) return { ok: false, reason: this.lastError ?? 'identity not known yet' };
    if (!this.subnet)
      return {
        ok: false,
        reason: this.lastError ?? `waiting for the controller to allocate a subnet to ${this.instanceId}`,
      };
    if (!this.lastOk) return { ok: false, reason: this.lastError ?? 'first sync not done' };
    return { ok: true };
  }

  /** The rule set this config wants now (re-reading the ip-masq-agent file when one is given). */
  async wantedRules(): Promise<RuleSet> {
    const c = this.d.config;
    const a = c.agent;
    let nonMasq = a.nonMasqueradeCIDRs ?? defaultNonMasquerade(c.clusterCIDR, a.vpcCIDRs);
    let masqLinkLocal = a.masqLinkLocal;
    if (a.ipMasqAgentConfig) {
      const f = await readIpMasqConfig(a.ipMasqAgentConfig);
      // As in ip-masq-agent, the file's list is the whole list; the cluster's own range is always kept.
      if (f.nonMasqueradeCIDRs) nonMasq = [c.clusterCIDR, ...f.nonMasqueradeCIDRs];
      if (f.masqLinkLocal !== undefined) masqLinkLocal = f.masqLinkLocal;
      this.resyncMs = f.resyncInterval ?? a.resyncInterval;
    }
    return renderRules({
      clusterCIDR: c.clusterCIDR,
      nonMasqueradeCIDRs: nonMasq,
      masqLinkLocal,
      randomFully: a.randomFully,
      ingress: a.ingress,
    });
  }

  async sync(): Promise<SyncResult> {
    const t0 = performance.now();
    const { config: c, metrics: m, logger } = this.d;
    try {
      const rules = await step('config', () => this.wantedRules());
      const id = (this.instanceId ??= await step('identity', () =>
        whoAmI({
          cloud: c.provider.type,
          source: c.agent.identity.source,
          ...(c.agent.identity.metadataEndpoint ? { endpoint: c.agent.identity.metadataEndpoint } : {}),
          timeoutMs: c.agent.identity.timeout,
          ...(this.d.env ? { env: this.d.env } : {}),
        }),
      ));
      // A refused subnet stops the sync before anything is changed.
      const nodes = this.d.nodes;
      const subnet = nodes
        ? await step('node', async () => {
            const cidr = await nodes.podCIDR(id);
            return cidr === undefined ? undefined : checkSubnet(cidr, `Node ${id} spec.podCIDR`, c.clusterCIDR);
          })
        : await step('store', () => subnetOf(this.d.store, id, c.clusterCIDR));
      if (subnet !== this.subnet && this.subnet !== undefined)
        logger.warn({ instanceId: id, from: this.subnet, to: subnet }, 'subnet changed in the store');
      this.subnet = subnet;
      m.subnetKnown.set(subnet ? 1 : 0);
      await step('iptables', () => this.ipForward());
      const applied = await step('iptables', () => this.d.iptables.apply(rules));
      m.rulesInPlace.set(1);
      if (applied.changed) {
        m.restores.inc();
        if (applied.restoreMs !== undefined) m.restoreDuration.observe(applied.restoreMs / 1000);
        logger.info(
          { restoreMs: applied.restoreMs !== undefined ? Math.round(applied.restoreMs) : undefined },
          'iptables rules installed',
        );
      }
      const filesChanged = subnet ? await step('files', () => this.writeFiles(subnet)) : [];
      if (!subnet && !this.waitingLogged) {
        logger.info(
          { instanceId: id },
          'no subnet allocated to this VM yet: waiting for the controller (subnet.env not written)',
        );
        this.waitingLogged = true;
      }
      if (subnet) this.waitingLogged = false;
      for (const f of filesChanged) logger.info({ path: f, subnet }, 'written');
      this.lastOk = true;
      this.lastError = undefined;
      m.lastSuccess.set(this.d.clock.now() / 1000);
      const durationMs = performance.now() - t0;
      m.syncDuration.observe(durationMs / 1000);
      return {
        instanceId: id,
        ...(subnet ? { subnet } : {}),
        rulesChanged: applied.changed,
        filesChanged,
        durationMs,
        ...(applied.restoreMs !== undefined ? { restoreMs: applied.restoreMs } : {}),
      };
    } catch (e) {
      const reason = e instanceof SyncError ? e.reason : 'unknown';
      m.syncErrors.inc({ reason });
      if (reason === 'iptables') m.rulesInPlace.set(0);
      this.lastOk = false;
      this.lastError = (e as Error).message;
      throw e;
    }
  }

  private async ipForward(): Promise<void> {
    const path = this.d.ipForwardPath ?? '/proc/sys/net/ipv4/ip_forward';
    const now = await readFile(path, 'utf8').catch(() => '');
    if (now.trim() !== '1') await writeFile(path, '1\n');
  }

  private async mtu(): Promise<number> {
    const a = this.d.config.agent;
    if (a.mtu !== undefined) return a.mtu;
    return interfaceMtu(a.interface ?? (await defaultInterface()));
  }

  private async writeFiles(subnet: string): Promise<string[]> {
    const a = this.d.config.agent;
    const facts = { clusterCIDR: this.d.config.clusterCIDR, subnet, mtu: await this.mtu() };
    const out: string[] = [];
    if (await writeIfChanged(a.subnetEnv, renderSubnetEnv(facts))) out.push(a.subnetEnv);
    if (a.cniConfig && (await writeIfChanged(a.cniConfig.path, renderCniConflist(facts, a.cniConfig))))
      out.push(a.cniConfig.path);
    return out;
  }

  /** Syncs every resync interval (every second while the subnet is not there yet) until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.sync();
      } catch (e) {
        this.d.logger.error(
          { reason: e instanceof SyncError ? e.reason : 'unknown', err: (e as Error).message },
          'sync failed; what is installed stays as it was',
        );
      }
      const wait = this.subnet ? this.resyncMs : Math.min(this.resyncMs, 1000);
      await this.d.clock.sleep(wait, signal).catch(() => undefined);
    }
  }

  /** Removes our chains, the jumps into them and the files the agent writes; nothing else. */
  async cleanup(): Promise<string[]> {
    await this.d.iptables.cleanup();
    const a = this.d.config.agent;
    const removed: string[] = [];
    for (const p of [a.subnetEnv, ...(a.cniConfig ? [a.cniConfig.path] : [])]) {
      const existed = await readFile(p).then(
        () => true,
        () => false,
      );
      await rm(p, { force: true });
      if (existed) removed.push(p);
    }
    return removed;
  }
}
