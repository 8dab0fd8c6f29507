// The chaos run's disruptions: SIGKILL the leader mid-apply, SIGSTOP it for longer than its lease, churn
// VMs, put foreign routes on the cluster CIDR, and spoil the listings' paging (short, overlapping, endless
// and repeating pages). Each act narrates itself on the timeline; the invariants judge the outcome afterwards.
import { VOCABULARIES } from '../../emulators/clouds.ts';
import type { FaultRule } from '../../emulators/shared/faults.ts';
import { PAGE_FAULTS } from '../../emulators/shared/paging.ts';
import type { Rng } from '../../emulators/shared/rng.ts';
import type { ProviderKind } from '../../providers/plugins.ts';
import { liveInstanceIds, type ForeignRoute, type LeaderStop } from './invariants.ts';
import type { Observers } from './observers.ts';
import { ELECTION_TTL_MS, INTERVAL_MS, RELEASE_AFTER_MS, TAG, type ChaosRig, type Controller } from './rig.ts';
import { Deadline, type Timeline } from './timeline.ts';

export interface Stage {
  rig: ChaosRig;
  obs: Observers;
  time: Timeline;
  provider: ProviderKind;
  tables: readonly string[];
  /** VMs each kill after the first adds, so the leader is caught mid-apply of new work. */
  burst: number;
}

export interface Tally {
  kills: string[];
  stops: Array<LeaderStop & { what: string }>;
  churned: number;
  burstVms: number;
  foreign: Array<ForeignRoute & { since: number }>;
}

export function newTally(): Tally {
  return { kills: [], stops: [], churned: 0, burstVms: 0, foreign: [] };
}

/** The leader once it has sent its first writes of a fresh burst (or of the work at hand), if one is seen. */
async function leaderMidApply(s: Stage, tally: Tally, addBurst: boolean): Promise<Controller | undefined> {
  const baseline = new Map(s.rig.controllers.map((c) => [c.client, s.rig.writesOf(c.client)]));
  if (addBurst) {
    await s.rig.admin('POST', 'instances', { count: s.burst });
    tally.burstVms += s.burst;
  }
  // The leader is re-read on every poll: after an etcd restart the one named a moment ago may have stepped down.
  const need = addBurst ? 1 : 3;
  const leader = await s.time.until(
    'the leader to write',
    () => {
      const l = s.obs.currentLeader();
      return l && s.rig.writesOf(l.client) - (baseline.get(l.client) ?? 0) >= need ? l : undefined;
    },
    20_000,
    20,
  );
  return leader;
}

/** SIGKILLs the leader right after its first writes of the work at hand, and starts a replacement. */
export async function killLeader(s: Stage, tally: Tally, n: number, addBurst: boolean): Promise<void> {
  const baseline = new Map(s.rig.controllers.map((c) => [c.client, s.rig.writesOf(c.client)]));
  const leader = await leaderMidApply(s, tally, addBurst);
  const victim = leader ?? s.obs.currentLeader();
  if (!victim) {
    tally.kills.push(`kill #${n}: no leader found`);
    return;
  }
  s.rig.kill(victim);
  const wrote = s.rig.writesOf(victim.client) - (baseline.get(victim.client) ?? 0);
  const next = s.rig.spawnController();
  const what = `kill #${n}: SIGKILL leader ${victim.client} ${leader ? `mid-apply, after ${wrote} writes` : 'without seeing it write'}${addBurst ? ` of a ${s.burst}-VM burst` : ' of the initial apply'}; started ${next.client}`;
  tally.kills.push(what);
  s.time.step(what);
}

/**
 * SIGSTOPs the leader mid-apply of a burst for 3× the election TTL (its lease expires, the standby takes
 * over and writes) and then SIGCONTs it: woken into its overdue timers, it must write nothing more (I4).
 */
export async function stopLeader(s: Stage, tally: Tally, n: number): Promise<void> {
  const leader = (await leaderMidApply(s, tally, true)) ?? s.obs.currentLeader();
  if (!leader) {
    tally.kills.push(`stop #${n}: no leader found`);
    return;
  }
  s.rig.pause(leader);
  const stoppedAt = Date.now();
  s.time.step(
    `stop #${n}: SIGSTOP leader ${leader.client} mid-apply of a ${s.burst}-VM burst, for ${(3 * ELECTION_TTL_MS) / 1000} s`,
  );
  try {
    await s.time.sleep(3 * ELECTION_TTL_MS);
  } finally {
    s.rig.resume(leader);
  }
  const resumedAt = Date.now();
  const what = `stop #${n}: SIGSTOP leader ${leader.client} mid-apply of a ${s.burst}-VM burst for ${((resumedAt - stoppedAt) / 1000).toFixed(1)} s, then SIGCONT`;
  tally.stops.push({ client: leader.client, stoppedAt, resumedAt, what });
  s.time.step(what);
}

/**
 * Replaces ~10 % of the VMs per minute (a short run churns faster so that it churns at all), stopping early
 * enough that the last vanished VM's release (releaseAfter) is due before the faults stop at `end`.
 */
export async function churn(s: Stage, tally: Tally, rng: Rng, vms: number, start: number, end: number): Promise<void> {
  const churnEnd = end - RELEASE_AFTER_MS - INTERVAL_MS - 2000;
  const every = Math.min(60_000 / Math.max(1, Math.round(vms * 0.1)), Math.max(1000, (churnEnd - start) / 5));
  try {
    await s.time.sleep(Math.min(every, 0.1 * (end - start)));
    while (Date.now() + every / 2 < churnEnd && !s.time.stopped) {
      const live = liveInstanceIds(await s.rig.state(), TAG);
      const victim = live[Math.floor(rng() * live.length)];
      if (victim !== undefined) await s.rig.admin('DELETE', `instances/${encodeURIComponent(victim)}`);
      await s.rig.admin('POST', 'instances', { count: 1 });
      tally.churned++;
      await s.time.sleep(Math.max(0, Math.min(every, churnEnd - Date.now())));
    }
  } catch (err) {
    // The deadline ends the churn with the rest; anything else is reported, not left unhandled.
    if (!(err instanceof Deadline)) s.time.step(`churn stopped: ${(err as Error).message}`);
  }
}

/**
 * F1: a route to a subnet of the cluster CIDR no VM holds; F2: one of our routes in the last table taken
 * over out of band (ours deleted, a foreign one in its place) — routesync must report the conflict and
 * leave both alone.
 */
export async function injectForeign(s: Stage, tally: Tally): Promise<void> {
  const first = s.tables[0] as string;
  const last = s.tables[s.tables.length - 1] as string;
  const hop = VOCABULARIES[s.provider].foreignHop;
  // The last /24, far above what the allocator reaches.
  const free = '172.16.255.0/24';
  const r1 = await s.rig.admin('POST', 'routes', { table: first, destination: free, nextHop: hop });
  if (r1.status !== 201) throw new Error(`injecting foreign route ${free}: ${JSON.stringify(r1.json)}`);
  const injected: Array<{ table: string; destination: string }> = [{ table: first, destination: free }];
  const ours = await s.time.until(
    'a route of ours to take over',
    async () => {
      const alloc = await s.obs.allocations();
      const t = (await s.rig.state()).tables.find((x) => x.id === last);
      return t?.routes.find((r) => r.target !== null && alloc.instances.get(r.target) === r.destination);
    },
    20_000,
    250,
  );
  for (let i = 0; ours && i < 5; i++) {
    await s.rig.admin('DELETE', 'routes', { table: last, destination: ours.destination });
    const r2 = await s.rig.admin('POST', 'routes', { table: last, destination: ours.destination, nextHop: hop });
    if (r2.status === 201) {
      injected.push({ table: last, destination: ours.destination });
      break;
    }
  }
  const after = await s.rig.state();
  const now = Date.now();
  for (const f of injected) {
    const r = after.tables.find((t) => t.id === f.table)?.routes.find((x) => x.destination === f.destination);
    if (r) tally.foreign.push({ ...f, nextHop: r.nextHop ?? String(r.target), since: now });
  }
  s.time.step(
    `foreign routes injected: ${tally.foreign.map((f) => `${f.table} ${f.destination} → ${f.nextHop}`).join('; ')}`,
  );
}

/**
 * For the window until `until`: every listing request may come back with hostile paging — each page mode at
 * `rate` — on top of the run's faults (`base`, put back afterwards). Narrates how many answers were spoiled.
 */
export async function hostilePages(s: Stage, base: readonly FaultRule[], until: number, rate = 0.25): Promise<void> {
  const listings = VOCABULARIES[s.provider].listings;
  const rules = listings.flatMap((action) => PAGE_FAULTS.map((error) => ({ action, rate, error })));
  await s.rig.admin('POST', 'faults', { rules });
  s.time.step(
    `hostile paging on: ${PAGE_FAULTS.join(', ')} on ${listings.join(', ')} (${Math.round(rate * 100)} % each)`,
  );
  try {
    await s.time.sleep(Math.max(0, until - Date.now()));
  } finally {
    // The injector has no per-rule removal: clear, then restore the run's own faults.
    await s.rig.admin('DELETE', 'faults');
    await s.rig.admin('POST', 'faults', { rules: base });
  }
  const spoiled: Record<string, number> = {};
  for (const [, outcomes] of Object.entries(s.rig.emu.counters.snapshot().byAction)) {
    for (const [outcome, n] of Object.entries(outcomes))
      if (outcome.startsWith('hostile:page-'))
        spoiled[outcome.slice('hostile:'.length)] = (spoiled[outcome.slice('hostile:'.length)] ?? 0) + n;
  }
  s.time.step(
    `hostile paging off; answers spoiled: ${
      Object.entries(spoiled)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
  );
}
