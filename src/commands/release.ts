import type { Command } from 'commander';
import { applyPlan } from '../apply.ts';
import { systemClock } from '../lib/clock.ts';
import { configPath, loadConfig } from '../config.ts';
import type { Instance, InstanceLookup, Route } from '../../providers/types.ts';
import { uniqueRoutes } from '../pass-read.ts';
import { plan } from '../plan.ts';
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

export interface ReleaseFlags extends Partial<LogFlags> {
  config?: string;
  kubeconfig?: string;
  yes?: boolean;
  force?: boolean;
}

export async function runRelease(
  instanceId: string,
  flags: ReleaseFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  if (!flags.yes)
    throw new UsageError(`release deletes the routes of ${instanceId} and frees its subnet: add --yes to confirm`);
  const config = applyKubeconfigFlag(loadConfig(configPath(flags.config)), flags.kubeconfig);
  const logger = loggerFrom({ logFormat: 'auto', ...flags }, 'warn');
  const rt = await openRuntime(config, { logger });
  try {
    await preflight(config, rt);
    await takeLeadershipOnce(rt.leadership, Math.min(config.store.electionTTL, 5000));
    const snap = await rt.store.load();
    const alloc = snap.allocations.find((a) => a.instanceId === instanceId);
    if (!alloc) throw new Error(`${instanceId} holds no subnet (nothing to release)`);
    // Read first: it tells the lookup where to ask (GCE zones). Its ids serve the ownership of unmarked (AWS)
    // routes only; without it the allocation holders stand alone.
    let instances: Instance[] | undefined;
    try {
      instances = await rt.inventory.list();
    } catch {
      instances = undefined;
    }
    // Asked by id, not read from the listing: an inventory that came back empty or short says nothing about
    // this VM (issue 12: a running VM was freed that way). Only "not found" or "terminated" frees it.
    let state: InstanceLookup | undefined;
    try {
      state = (await rt.provider.lookupInstances([instanceId])).get(instanceId);
    } catch (e) {
      if (!flags.force)
        throw new Error(
          `cannot check whether ${instanceId} still exists (lookup by id failed: ${(e as Error).message}); use --force to release anyway`,
        );
    }
    if (state !== undefined && state !== 'notFound' && state !== 'terminated' && !flags.force) {
      throw new Error(
        `${instanceId} is ${state} according to the cloud: only a VM that is gone (not found or terminated) is released; use --force to release anyway`,
      );
    }
    if (state === undefined && !flags.force)
      throw new Error(
        `cannot check whether ${instanceId} still exists (the lookup gave no answer for it); use --force to release anyway`,
      );
    // Routes go first: a freed subnet must never keep a live route. The plan finds them, as a pass would:
    // the routes of ours on the subnet, each listed route once.
    const known = new Set([...(instances ?? []).map((i) => i.id), ...snap.allocations.map((a) => a.instanceId)]);
    const tables = await rt.provider.routeTables();
    const actualByTable = new Map<string, Route[]>();
    for (const t of tables) actualByTable.set(t.id, uniqueRoutes(await rt.provider.listRoutes(t)));
    const gate = plan({
      desired: [],
      actualByTable,
      quotaByTable: {},
      clusterCIDR: config.clusterCIDR,
      subnetLen: config.subnetLen,
      inventoryIds: known,
      releasable: new Set([alloc.subnet]),
      adopt: false,
      deletesAllowed: true,
    }).releases[alloc.subnet];
    const changes = (gate?.deletes ?? []).map((c) => ({ ...c, reason: `release of ${instanceId}` }));
    const rep = await applyPlan(tables, changes, {
      provider: rt.provider,
      logger,
      signal: new AbortController().signal,
      fence: () => rt.leadership.fence(),
    });
    const bad = rep.results.filter((r) => r.outcome !== 'applied' && r.outcome !== 'alreadyDone');
    for (const r of rep.results)
      out.write(
        `- delete ${r.change.table} ${r.change.destination}: ${r.outcome}${r.error ? ` (${r.error.message})` : ''}\n`,
      );
    if (bad.length > 0)
      throw new Error(`${bad.length} route(s) of ${instanceId} could not be deleted; the subnet stays allocated`);
    await rt.leadership.fence();
    await rt.store.release([instanceId], systemClock.now());
    out.write(`released ${alloc.subnet} from ${instanceId} (not reused before the reuseAfter cool-down)\n`);
    return EXIT.ok;
  } finally {
    if (rt.leadership.isLeader()) await rt.leadership.resign().catch(() => undefined);
    await rt.close();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('release')
    .description("Free one VM's subnet now, deleting its routes first")
    .argument('<instance-id>', 'the VM whose subnet to free (GCE: <zone>/<name>)')
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)')
    .option('--kubeconfig <file>', KUBECONFIG_HELP)
    .option('--yes', 'confirm: without it nothing is done')
    .option(
      '--force',
      'release even when the cloud does not confirm the VM gone (it runs or is stopped, or the lookup failed)',
    );
  withLogFlags(cmd, 'warn')
    .addHelpText(
      'after',
      '\nThe VM is looked up by id first: it is released only when the cloud says it does not exist or is terminated.\nExit codes: 0 released, 1 refused or failed (VM not confirmed gone, a route could not be deleted, lock held), 2 usage.\n\nExamples:\n  routesync release -c routesync.yaml i-0abc123 --yes\n  routesync release -c routesync.yaml i-0abc123 --yes --force',
    )
    .action(action((id: string, flags: ReleaseFlags) => runRelease(id, flags)));
}
