// The status document: the same JSON for `routesync status -o json` and the server's /status.
import type { Quota } from '../providers/types.ts';
import type { PoolStats } from './allocator.ts';
import type { RouteStateCount } from './plan.ts';
import { compareCidr } from './lib/cidr.ts';
import { forecastQuota, type QuotaForecast } from './quota.ts';
import type { PassReport } from './reconcile.ts';
import type { StoreLocation } from './store/index.ts';
import type { StoreSnapshot } from './store/types.ts';
import type { NodeStatus } from './kubernetes/node-status.ts';
import { type NodeRow, nodeSection, renderNodes } from './status-nodes.ts';

export interface StatusDocument {
  cluster: string;
  provider: string;
  generatedAt: string;
  /** Where the allocations live: a wrong state file looks like an empty store. */
  store: StoreLocation;
  leader: { id?: string; self: boolean } | null;
  pool: PoolStats;
  instances: Record<string, number>;
  /** `releaseAt`: when a VM gone from the inventory loses its route and subnet (missingSince + releaseAfter). */
  allocations: Array<{
    instanceId: string;
    name: string;
    subnet: string;
    since: string;
    missingSince?: string;
    releaseAt?: string;
    state?: string;
  }>;
  /**
   * inventory.source kubernetes only: one row per Node (excluded ones too) — providerID, VM, podCIDR, the
   * VM's subnet, NetworkUnavailable, finding. null, with nodesError, when the Nodes could not be read.
   */
  nodes?: NodeRow[] | null;
  nodesError?: string;
  tables: Array<{
    id: string;
    routes: RouteStateCount;
    readError?: string;
    quota: {
      used: number;
      limit: number;
      source: Quota['source'];
      scope: Quota['scope'];
      ratio: number;
      /** 0 when full, null unless growing (the forecast metric's value). */
      daysToQuota: number | null;
      forecast: QuotaForecast;
    } | null;
  }>;
  safetyValve: { held: boolean; reason?: string };
  lastPass: {
    at: string;
    finishedAt: string;
    converged: boolean;
    changes: number;
    failed: number;
    findings: number;
    errors: string[];
  } | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How long a span is, roughly: `40s`, `12m`, `5h`, `3 days`. */
export function spanText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${Math.max(1, s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)} days`;
}

/** The forecast the way an operator reads it: the state, the rise it is based on, and when the quota is met. */
export function forecastText(f: QuotaForecast): string {
  if (f.trend === 'full') return 'FULL: new VMs get no route until the quota is raised';
  if (f.trend === 'unknown') return 'no usage history yet';
  if (f.trend === 'flat') return `not growing (no rise in the last ${spanText(f.overMs)})`;
  if (f.trend === 'shrinking') return `shrinking over the last ${spanText(f.overMs)}`;
  const rate = f.perDay >= 1 ? `~${Math.round(f.perDay)}/day` : `~${f.perDay.toFixed(2)}/day`;
  return `growing: +${Math.round(f.rise)} in the last ${spanText(f.overMs)} (${rate}); full ${inAbout(f.daysToQuota * 86_400_000).replace(/^in /, 'in ~')} at that rate`;
}

/** `in 4m 10s`, `in 2h 5m`, or `due now` for a time already passed (the next pass releases it). */
export function inAbout(ms: number): string {
  if (ms <= 0) return 'due now';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `in ${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  return h < 48 ? `in ${h}h${m % 60 ? ` ${m % 60}m` : ''}` : `in ${Math.round(h / 24)} days`;
}

/**
 * Allocation count over time from the store, as steps: at each allocatedAt / releasedAt a sample of the count
 * just before and one just after (the count holds between events, it does not ramp). A released record was
 * allocated before anything we know of and drops out at releasedAt.
 */
export function allocationHistory(snapshot: StoreSnapshot): Array<{ at: number; count: number }> {
  const events: Array<[number, number]> = [
    ...snapshot.allocations.map((a): [number, number] => [a.allocatedAt, 1]),
    ...snapshot.released.map((r): [number, number] => [r.releasedAt, -1]),
  ].sort((a, b) => a[0] - b[0]);
  let n = snapshot.released.length;
  const out: Array<{ at: number; count: number }> = [];
  for (const [at, d] of events) {
    const last = out[out.length - 1];
    n += d;
    if (last && last.at === at) last.count = n;
    else out.push({ at, count: n - d }, { at, count: n });
  }
  return out;
}

export function buildStatus(opts: {
  cluster: string;
  provider: string;
  now: number;
  report: PassReport;
  snapshot: StoreSnapshot;
  leader: { id?: string; self: boolean } | null;
  store: StoreLocation;
  /** True when `report` is a dry pass made for this status (its tentative allocations are left out). */
  fromDryRun?: boolean;
  /** reconcile.releaseAfter: dates the release of VMs gone from the inventory. */
  releaseAfterMs?: number;
  /** Kubernetes mode: the Nodes' rows (src/status-nodes.ts nodeStatusOf); may throw while they are not known. */
  nodes?: () => readonly NodeStatus[];
}): StatusDocument {
  const { report, snapshot, now } = opts;
  const tentative = new Set(opts.fromDryRun ? report.allocated.map((a) => a.instanceId) : []);
  const history = allocationHistory(snapshot);
  const current = snapshot.allocations.length;
  const allocations = report.allocations
    .filter((a) => !tentative.has(a.instanceId))
    .sort((a, b) => compareCidr(a.subnet, b.subnet) || a.instanceId.localeCompare(b.instanceId))
    .map((a) => ({
      instanceId: a.instanceId,
      name: a.name,
      subnet: a.subnet,
      since: iso(a.allocatedAt),
      ...(a.missingSince !== undefined ? { missingSince: iso(a.missingSince) } : {}),
      ...(a.missingSince !== undefined && opts.releaseAfterMs !== undefined
        ? { releaseAt: iso(a.missingSince + opts.releaseAfterMs) }
        : {}),
    }));
  return {
    cluster: opts.cluster,
    provider: opts.provider,
    generatedAt: iso(now),
    store: opts.store,
    leader: opts.leader,
    pool: report.pool,
    instances: report.inventory.byState,
    allocations,
    ...(opts.nodes ? nodeSection(opts.nodes, allocations) : {}),
    tables: report.tables.map((t) => {
      let quota: StatusDocument['tables'][number]['quota'] = null;
      if (t.quota) {
        // Routes not tied to allocations (system, foreign) stay constant in the forecast.
        const offset = t.quota.used - current;
        // The table as read now closes the series: it has held since the last event.
        const shifted = [
          ...history.map((h) => ({ at: h.at, count: h.count + offset })),
          { at: now, count: t.quota.used },
        ];
        const forecast = forecastQuota(shifted, t.quota.limit, now);
        quota = {
          used: t.quota.used,
          limit: t.quota.limit,
          source: t.quota.source,
          scope: t.quota.scope,
          ratio: t.quota.limit > 0 ? Math.round((t.quota.used / t.quota.limit) * 1000) / 1000 : 1,
          daysToQuota: forecast.trend === 'full' ? 0 : forecast.trend === 'growing' ? forecast.daysToQuota : null,
          forecast,
        };
      }
      return { id: t.id, routes: t.states, ...(t.readError ? { readError: t.readError } : {}), quota };
    }),
    safetyValve: report.valve,
    lastPass: opts.fromDryRun
      ? null
      : {
          at: iso(report.startedAt),
          finishedAt: iso(report.finishedAt),
          converged: report.converged,
          changes: report.plan.changes.length,
          failed: report.results.filter((r) => r.outcome === 'failed').length,
          findings: report.plan.findings.length,
          errors: report.errors,
        },
  };
}

export function renderStatus(s: StatusDocument): string {
  const out: string[] = [];
  out.push(
    `Cluster ${s.cluster} on ${s.provider}${s.leader ? `; leader: ${s.leader.id ?? 'unknown'}${s.leader.self ? ' (this process)' : ''}` : ''}`,
  );
  const st = s.store;
  out.push(
    `Store: ${st.type}${st.path ? ` ${st.path}` : ''}${st.endpoints ? ` ${st.endpoints.join(',')} keys ${st.keys ?? ''}` : st.keys ? ` ${st.keys}` : ''}`,
  );
  out.push(
    `Pool: ${s.pool.allocated} of ${s.pool.size} subnets allocated, ${s.pool.free} free${s.pool.coolingDown ? `, ${s.pool.coolingDown} cooling down` : ''}`,
  );
  out.push(
    `VMs: ${
      Object.entries(s.instances)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'none listed'
    }`,
  );
  if (s.safetyValve.held) out.push(`! safety valve held: ${s.safetyValve.reason ?? ''}`);
  out.push('');
  const vmOf = (a: (typeof s.allocations)[number]) =>
    a.name !== a.instanceId ? `${a.instanceId} (${a.name})` : a.instanceId;
  const vmWidth = Math.max(2, ...s.allocations.map((a) => vmOf(a).length)) + 2;
  out.push(`${'VM'.padEnd(vmWidth) + 'SUBNET'.padEnd(20)}SINCE`);
  const now = Date.parse(s.generatedAt);
  const gone = (a: (typeof s.allocations)[number]) =>
    !a.missingSince
      ? ''
      : `  missing since ${a.missingSince}${a.releaseAt ? `; route and subnet released at ${a.releaseAt} (${inAbout(Date.parse(a.releaseAt) - now)})` : ''}`;
  for (const a of s.allocations) out.push(`${vmOf(a).padEnd(vmWidth)}${a.subnet.padEnd(20)}${a.since}${gone(a)}`);
  if (s.nodes !== undefined) {
    out.push('');
    out.push(
      ...renderNodes(
        s.nodes === null ? { nodes: null, nodesError: s.nodesError ?? 'unknown error' } : { nodes: s.nodes },
      ),
    );
  }
  // The soonest release, for the tables' `releasing` counts.
  const nextRelease = s.allocations
    .map((a) => a.releaseAt)
    .filter((x): x is string => x !== undefined)
    .sort()[0];
  for (const t of s.tables) {
    out.push('');
    if (t.readError) {
      out.push(`Table ${t.id}: not read (${t.readError})`);
      continue;
    }
    const states =
      Object.entries(t.routes)
        .filter(([, n]) => n > 0)
        .map(([k, n]) =>
          k === 'releasing' && nextRelease
            ? `${n} releasing (VM gone; deleted from ${nextRelease}, ${inAbout(Date.parse(nextRelease) - now)})`
            : `${n} ${k}`,
        )
        .join(', ') || 'no routes of ours';
    out.push(`Table ${t.id}: ${states}`);
    if (t.quota) {
      const days = forecastText(t.quota.forecast);
      out.push(
        `  quota ${t.quota.used}/${t.quota.limit} (${Math.round(t.quota.ratio * 100)}%, ${t.quota.source}${t.quota.scope === 'project' ? ', project-wide' : ''}); ${days}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
