// The chaos run's invariants I1–I6 as pure functions over what the run collected (etcd keys, emulator
// state snapshots, the emulator's request log, leader samples), so each check is unit-tested against a
// crafted violation (test/unit/chaos-invariants.test.ts) independently of the run that feeds it.
import { VOCABULARIES } from '../../emulators/clouds.ts';
import type { EmulatorVocabulary } from '../../emulators/shared/vocabulary.ts';
import { cidrInside, parseCidr, type Cidr } from '../../src/lib/cidr.ts';

export interface InvariantResult {
  id: 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6';
  name: string;
  pass: boolean;
  /** The counts behind the verdict, e.g. `1,234 writes, 3 leaders, 0 by a non-leader`. */
  summary: string;
  /** First few violations, for the report. */
  details: string[];
}

/** One request as the emulator logged it; `at` already converted to real epoch ms. */
export interface LoggedRequest {
  at: number;
  /** Real epoch ms at which it arrived (before the emulator's latency), when known: the order of sending. */
  arrivedAt?: number;
  client: string;
  action: string;
  outcome: string;
  mutating: boolean;
}

export interface EmuRoute {
  destination: string;
  target: string | null;
  nextHop?: string;
  state?: string;
}

export interface EmuTableState {
  id: string;
  quota: number;
  routes: EmuRoute[];
}

export interface EmuInstanceState {
  id: string;
  state: string;
  tags?: Record<string, string>;
}

export interface EmuState {
  instances: EmuInstanceState[];
  tables: EmuTableState[];
}

export interface ForeignRoute {
  table: string;
  destination: string;
  nextHop: string;
}

/** What differs between clouds in the request log: the emulator's vocabulary (emulators/shared/vocabulary.ts). */
export type CloudActions = EmulatorVocabulary;
export const CLOUD_ACTIONS = VOCABULARIES;

const MAX_DETAILS = 8;
const n = (x: number) => x.toLocaleString('en-US');

function result(id: InvariantResult['id'], name: string, details: string[], summary: string): InvariantResult {
  return { id, name, pass: details.length === 0, summary, details: details.slice(0, MAX_DETAILS) };
}

export function formatResult(r: InvariantResult): string {
  const head = `${r.id} ${r.name}: ${r.pass ? 'PASS' : 'FAIL'} (${r.summary})`;
  return [head, ...r.details.map((d) => `    - ${d}`)].join('\n');
}

/** Running VMs carrying the cluster's tag: the ones that must hold a subnet and a route. */
export function liveInstanceIds(state: EmuState, tag: { key: string; value: string }): string[] {
  return state.instances.filter((i) => i.state === 'running' && i.tags?.[tag.key] === tag.value).map((i) => i.id);
}

// ---------------------------------------------------------------------------------------------------------
// I1 one subnet, one VM: straight from etcd's keys, not through the store code under test.

export interface EtcdAllocations {
  /** `subnets/<a.b.c.d-len>` → the VM named in its JSON value. */
  subnets: Map<string, string>;
  /** `instances/<id>` → subnet (CIDR text). */
  instances: Map<string, string>;
  /** Keys whose value could not be read: never taken as "nothing there". */
  unreadable: string[];
}

/** Splits the raw key/value map of `<prefix>/<cluster>/` into subnets and instances. */
export function parseEtcdAllocations(kvs: Record<string, string>, base: string): EtcdAllocations {
  const out: EtcdAllocations = { subnets: new Map(), instances: new Map(), unreadable: [] };
  for (const [key, value] of Object.entries(kvs)) {
    if (!key.startsWith(base)) continue;
    const rest = key.slice(base.length);
    if (rest.startsWith('subnets/')) {
      const subnet = rest.slice('subnets/'.length).replace(/-(\d+)$/, '/$1');
      try {
        const v = JSON.parse(value) as { instanceId?: unknown };
        if (typeof v.instanceId !== 'string' || v.instanceId === '') throw new Error('no instanceId');
        out.subnets.set(subnet, v.instanceId);
      } catch {
        out.unreadable.push(key);
      }
    } else if (rest.startsWith('instances/')) {
      out.instances.set(rest.slice('instances/'.length), value);
    }
  }
  return out;
}

export function checkI1(
  a: EtcdAllocations,
  liveIds: string[],
  clusterCIDR: string,
  subnetLen: number,
): InvariantResult {
  const details: string[] = [];
  const outer = parseCidr(clusterCIDR);
  for (const k of a.unreadable) details.push(`etcd key ${k} holds no readable allocation`);
  // Reverse view of subnets/*: which subnets name each VM.
  const subnetsOf = new Map<string, string[]>();
  for (const [subnet, id] of a.subnets) {
    subnetsOf.set(id, [...(subnetsOf.get(id) ?? []), subnet]);
    if (!cidrInside(outer, subnet) || !subnet.endsWith(`/${subnetLen}`))
      details.push(`subnet ${subnet} (${id}) is not a /${subnetLen} of ${clusterCIDR}`);
  }
  for (const [id, subs] of subnetsOf)
    if (subs.length > 1) details.push(`VM ${id} holds ${subs.length} subnets: ${subs.join(', ')}`);
  const holders = new Map<string, string[]>();
  for (const [id, subnet] of a.instances) holders.set(subnet, [...(holders.get(subnet) ?? []), id]);
  for (const [subnet, ids] of holders)
    if (ids.length > 1) details.push(`subnet ${subnet} is held by ${ids.length} VMs: ${ids.join(', ')}`);
  for (const [id, subnet] of a.instances) {
    const back = a.subnets.get(subnet);
    if (back !== id) details.push(`instances/${id} → ${subnet}, but subnets/${subnet} → ${back ?? 'nothing'}`);
  }
  for (const [subnet, id] of a.subnets)
    if (a.instances.get(id) !== subnet)
      details.push(`subnets/${subnet} → ${id}, but instances/${id} → ${a.instances.get(id) ?? 'nothing'}`);
  let withSubnet = 0;
  for (const id of liveIds) {
    if (a.instances.has(id) && (subnetsOf.get(id)?.length ?? 0) === 1) withSubnet++;
    else if (!a.instances.has(id)) details.push(`live VM ${id} has no subnet`);
  }
  return result(
    'I1',
    'one subnet, one VM',
    details,
    `${n(liveIds.length)} live VMs, ${n(withSubnet)} with exactly one subnet, ${n(a.subnets.size)} subnets allocated, ${n(details.length)} violations`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// I2 own only ours: every foreign route is present with its next hop in every snapshot taken after it was
// injected, and at the end.

export function checkI2(
  foreign: Array<ForeignRoute & { since: number }>,
  snapshots: Array<{ at: number; state: EmuState }>,
): InvariantResult {
  const details: string[] = [];
  let checked = 0;
  if (foreign.length === 0) details.push('no foreign route was injected: nothing proves it was left alone');
  for (const f of foreign) {
    for (const s of snapshots) {
      if (s.at < f.since) continue;
      checked++;
      const t = s.state.tables.find((x) => x.id === f.table);
      const r = t?.routes.find((x) => x.destination === f.destination);
      if (!r)
        details.push(`${f.table} ${f.destination} (foreign, ${f.nextHop}) gone at ${new Date(s.at).toISOString()}`);
      else if (r.nextHop !== f.nextHop)
        details.push(
          `${f.table} ${f.destination} (foreign) now → ${r.nextHop ?? r.target} instead of ${f.nextHop} at ${new Date(s.at).toISOString()}`,
        );
    }
  }
  if (foreign.length > 0 && checked === 0) details.push('no snapshot taken after the foreign routes were injected');
  return result(
    'I2',
    'own only ours',
    details,
    `${foreign.length} foreign routes, ${n(checked)} checks over ${n(snapshots.length)} snapshots, ${n(details.length)} touched`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// I3 no read, no delete: per client, from a failed inventory read to that client's next successful one,
// no delete or replace may be sent.

export function checkI3(log: LoggedRequest[], actions: CloudActions): InvariantResult {
  const details: string[] = [];
  const openSince = new Map<string, number>();
  let failedReads = 0;
  let windows = 0;
  let destructive = 0;
  let inWindow = 0;
  for (const e of [...log].sort((a, b) => a.at - b.at)) {
    if (actions.inventoryRead.test(e.action)) {
      if (actions.goodRead.test(e.outcome)) openSince.delete(e.client);
      else {
        failedReads++;
        if (!openSince.has(e.client)) {
          windows++;
          openSince.set(e.client, e.at);
        }
      }
      continue;
    }
    if (!actions.destructive.test(e.action)) continue;
    destructive++;
    const since = openSince.get(e.client);
    if (since !== undefined) {
      inWindow++;
      details.push(
        `${e.client} sent ${e.action} at ${new Date(e.at).toISOString()}, ${e.at - since} ms after its inventory read failed and before one succeeded`,
      );
    }
  }
  return result(
    'I3',
    'no read, no delete',
    details,
    `${n(failedReads)} failed inventory reads in ${n(windows)} windows, ${n(destructive)} deletes/replaces, ${n(inWindow)} inside a window`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// I4 one writer: each write came from the client that etcd named leader at that time.

/** One poll of the election: the leader's identity, null when there is none, or `error` when etcd did not answer. */
export interface LeaderSample {
  at: number;
  leader?: string | null;
  error?: string;
}

/**
 * A write at time t by client C is the leader's when C's identity led in some answered poll within
 * `marginMs` of t, or when etcd did not answer around t (a restart) and the last answer before or the
 * first answer after that stretch names C: while etcd is down no one else can be elected, so the holder of
 * the lease is still the only leader. Writes accepted through such a stretch are counted in the summary.
 * The margin covers the poll period, the request's own latency (the emulator logs a request when it
 * finishes, while the fence ran before it was sent) and the poll's own uncertainty.
 */
export function checkI4(
  writes: LoggedRequest[],
  samples: LeaderSample[],
  identityOf: Record<string, string>,
  marginMs: number,
): InvariantResult {
  const details: string[] = [];
  const ss = [...samples].sort((a, b) => a.at - b.at);
  const known = ss.filter((s) => s.error === undefined);
  const leaders = new Set(known.map((s) => s.leader).filter((l): l is string => typeof l === 'string'));
  let bad = 0;
  let viaGap = 0;
  const writers = new Set<string>();
  for (const w of writes) {
    writers.add(w.client);
    const id = identityOf[w.client];
    if (id === undefined) {
      bad++;
      details.push(`${w.action} at ${new Date(w.at).toISOString()} by unknown client ${w.client}`);
      continue;
    }
    if (ledNear(known, id, w.at, marginMs)) continue;
    if (unansweredAround(ss, known, id, w.at, marginMs)) {
      viaGap++;
      continue;
    }
    bad++;
    const cur = latestAtOrBefore(known, w.at);
    details.push(
      `${w.action} at ${new Date(w.at).toISOString()} by ${w.client} (${id}) while ${cur?.leader ?? 'no one'} led`,
    );
  }
  if (known.length === 0) details.push('etcd never answered a leader poll');
  return result(
    'I4',
    'one writer',
    details,
    `${n(writes.length)} writes by ${writers.size} clients, ${leaders.size} leaders over ${n(known.length)} answered polls (${n(ss.length - known.length)} unanswered), ` +
      `${n(bad)} by a non-leader, ${n(viaGap)} while etcd was silent; margin ${marginMs} ms`,
  );
}

/** When a write reached the emulator: the order requests were sent in (the answer time when not logged). */
const arrival = (w: LoggedRequest): number => w.arrivedAt ?? w.at;

/** A leader SIGSTOPped for longer than its lease and then resumed (the chaos run's stop act). */
export interface LeaderStop {
  client: string;
  stoppedAt: number;
  resumedAt: number;
}

/**
 * I4 for a paused leader: not one write of the stopped client may arrive after its successor's first write
 * (by arrival, the order requests were sent in), up to `windowMs` after it was resumed. A stop the successor
 * did not write during is reported, not failed: the act then proved nothing either way.
 */
export function checkDeposedWrites(
  writes: LoggedRequest[],
  stops: LeaderStop[],
  windowMs: number,
): { bad: number; details: string[]; summary: string } {
  const details: string[] = [];
  let bad = 0;
  let proved = 0;
  for (const st of stops) {
    const successor = writes
      .filter((w) => w.client !== st.client && arrival(w) > st.stoppedAt)
      .sort((a, b) => arrival(a) - arrival(b))[0];
    if (!successor || arrival(successor) > st.resumedAt) continue;
    proved++;
    const from = arrival(successor);
    const late = writes.filter(
      (w) => w.client === st.client && arrival(w) > from && arrival(w) <= st.resumedAt + windowMs,
    );
    bad += late.length;
    for (const w of late) {
      details.push(
        `${w.action} ${w.outcome} by SIGSTOPped ${st.client} ${Math.round(arrival(w) - st.resumedAt)} ms after its SIGCONT, ${Math.round(arrival(w) - from)} ms after ${successor.client}'s first write`,
      );
    }
  }
  return {
    bad,
    details,
    summary: `${n(stops.length)} leaders SIGSTOPped (${n(proved)} with the successor writing meanwhile), ${n(bad)} writes by them after the successor's first`,
  };
}

/**
 * The writes a SIGSTOPped leader sent in the instant it was resumed: a process frozen between its last fence
 * and the send syscall (SIGSTOP lands on any instruction) sends on waking, before any code of ours runs again.
 * No check in the process can close that gap, so the poll-based I4 check does not judge them;
 * checkDeposedWrites does, by the rule: none may arrive after the successor's first write.
 */
export function frozenSends(writes: LoggedRequest[], stops: LeaderStop[], withinMs: number): Set<LoggedRequest> {
  const frozen = new Set<LoggedRequest>();
  for (const st of stops) {
    // Only sends that beat every other client's first write since the stop: one after it is a deposed write.
    const firstOther = Math.min(
      ...writes.filter((w) => w.client !== st.client && arrival(w) > st.stoppedAt).map(arrival),
    );
    for (const w of writes) {
      const t = arrival(w);
      if (w.client === st.client && t >= st.resumedAt && t <= st.resumedAt + withinMs && t < firstOther) frozen.add(w);
    }
  }
  return frozen;
}

/** checkI4 and checkDeposedWrites as one verdict. */
export function withDeposed(
  i4: InvariantResult,
  deposed: { bad: number; details: string[]; summary: string },
): InvariantResult {
  const details = [...deposed.details, ...i4.details];
  return {
    ...i4,
    pass: i4.pass && deposed.bad === 0,
    summary: `${i4.summary}; ${deposed.summary}`,
    details: details.slice(0, MAX_DETAILS),
  };
}

function lowerBound(ss: LeaderSample[], t: number): number {
  let lo = 0;
  let hi = ss.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ss[mid] as LeaderSample).at < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function ledNear(known: LeaderSample[], id: string, t: number, margin: number): boolean {
  for (let i = lowerBound(known, t - margin); i < known.length; i++) {
    const s = known[i] as LeaderSample;
    if (s.at > t + margin) break;
    if (s.leader === id) return true;
  }
  return false;
}

function latestAtOrBefore(known: LeaderSample[], t: number): LeaderSample | undefined {
  const i = lowerBound(known, t + 1) - 1;
  return i >= 0 ? known[i] : undefined;
}

/** t lies in a stretch where polls went unanswered, and the answers bounding it on one side name `id`. */
function unansweredAround(all: LeaderSample[], known: LeaderSample[], id: string, t: number, margin: number): boolean {
  const i = lowerBound(all, t);
  const near = (s: LeaderSample | undefined) =>
    s !== undefined && s.error !== undefined && Math.abs(s.at - t) <= margin;
  if (!near(all[i - 1]) && !near(all[i])) return false;
  const before = latestAtOrBefore(known, t);
  const after = known[lowerBound(known, t)];
  return before?.leader === id || after?.leader === id;
}

// ---------------------------------------------------------------------------------------------------------
// I5 quota first: no snapshot shows a table (GCE: the project) over its quota, and the cloud never had to
// refuse a create for want of room.

export interface QuotaSample {
  at: number;
  scope: string;
  used: number;
  limit: number;
}

export function quotaSamples(
  at: number,
  state: EmuState,
  actions: CloudActions,
  tables: readonly string[],
): QuotaSample[] {
  const count = (t: EmuTableState) => t.routes.filter((r) => !actions.systemRoute(r)).length;
  if (actions.quotaScope === 'project') {
    const limit = state.tables[0]?.quota ?? 0;
    return [{ at, scope: 'project', used: state.tables.reduce((s, t) => s + count(t), 0), limit }];
  }
  return state.tables
    .filter((t) => tables.includes(t.id))
    .map((t) => ({ at, scope: t.id, used: count(t), limit: t.quota }));
}

export function checkI5(samples: QuotaSample[], log: LoggedRequest[], actions: CloudActions): InvariantResult {
  const details: string[] = [];
  const peak = new Map<string, QuotaSample>();
  for (const s of samples) {
    if (s.used > s.limit)
      details.push(`${s.scope}: ${s.used} routes over its quota of ${s.limit} at ${new Date(s.at).toISOString()}`);
    const p = peak.get(s.scope);
    if (!p || s.used > p.used) peak.set(s.scope, s);
  }
  const refused = log.filter((e) => actions.quotaError.test(e.outcome));
  for (const e of refused)
    details.push(`${e.client} ${e.action} refused with ${e.outcome} at ${new Date(e.at).toISOString()}`);
  if (samples.length === 0) details.push('no quota sample was taken');
  const peaks = [...peak.values()].map((p) => `${p.scope} peak ${p.used}/${p.limit}`).join(', ');
  return result(
    'I5',
    'quota first',
    details,
    `${n(samples.length)} samples, ${peaks || 'no tables'}, ${n(refused.length)} quota errors`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// I6 converge: every managed table holds exactly one route of ours per live VM (its subnet → it), and no
// other route of ours. A foreign route on one of our subnets is a conflict routesync must leave: that
// subnet is then expected to hold the foreign route, not ours.

export function checkI6(
  state: EmuState,
  a: EtcdAllocations,
  liveIds: string[],
  opts: {
    clusterCIDR: string;
    tables: readonly string[];
    foreign: ForeignRoute[];
    convergedAfterMs?: number;
    limitMs?: number;
  },
): InvariantResult {
  const details: string[] = [];
  const outer: Cidr = parseCidr(opts.clusterCIDR);
  const foreignAt = new Set(opts.foreign.map((f) => `${f.table}|${f.destination}`));
  let ok = 0;
  let expectedTotal = 0;
  for (const tid of opts.tables) {
    const t = state.tables.find((x) => x.id === tid);
    if (!t) {
      details.push(`table ${tid} is missing from the emulator state`);
      continue;
    }
    const want = new Map<string, string>();
    for (const id of liveIds) {
      const subnet = a.instances.get(id);
      if (subnet === undefined) {
        details.push(`${tid}: live VM ${id} has no subnet, so no route`);
        continue;
      }
      if (!foreignAt.has(`${tid}|${subnet}`)) want.set(subnet, id);
    }
    expectedTotal += want.size;
    const seen = new Set<string>();
    for (const r of t.routes) {
      if (!cidrInside(outer, r.destination) || foreignAt.has(`${tid}|${r.destination}`)) continue;
      const target = want.get(r.destination);
      if (target === undefined) details.push(`${tid}: extra route ${r.destination} → ${r.target ?? r.nextHop}`);
      else if (seen.has(r.destination)) details.push(`${tid}: duplicate route ${r.destination}`);
      else if (r.target !== target) details.push(`${tid}: ${r.destination} → ${r.target ?? r.nextHop}, want ${target}`);
      else if (r.state === 'blackhole') details.push(`${tid}: ${r.destination} → ${target} is a blackhole`);
      else ok++;
      seen.add(r.destination);
    }
    for (const [subnet, id] of want) if (!seen.has(subnet)) details.push(`${tid}: missing route ${subnet} → ${id}`);
  }
  const when =
    opts.convergedAfterMs !== undefined
      ? `, converged ${(opts.convergedAfterMs / 1000).toFixed(1)} s after faults stopped`
      : opts.limitMs !== undefined
        ? `, not converged within ${(opts.limitMs / 1000).toFixed(1)} s`
        : '';
  if (opts.convergedAfterMs === undefined && opts.limitMs !== undefined && details.length === 0)
    details.push(`tables matched only after the ${(opts.limitMs / 1000).toFixed(1)} s limit`);
  return result(
    'I6',
    'converge',
    details,
    `${opts.tables.length} tables, ${n(ok)}/${n(expectedTotal)} routes right, ${n(opts.foreign.length)} foreign left alone${when}`,
  );
}
