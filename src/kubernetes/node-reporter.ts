// The report step of a pass in Kubernetes mode (issue 14 item 3): each Node's NetworkUnavailable condition
// (./node-condition.ts) and its Events (./events.ts), from the pass's per-VM route states
// (src/pass-vm-routes.ts) and the inventory's findings.
// - A new Node gets True / NoRouteCreated at once: when the Node watch signals it, and again before each
//   pass, so it is True before the pass that creates its route; False / RouteCreated only once its route is
//   active in every managed table; True again when it is lost. A table not read says nothing (no patch).
// - Events once per transition, not every pass: route created, route lost, blocked by quota, conflict,
//   cannot-forward, and each inventory finding (no usable providerID, a VM the cloud does not have, …)
//   when it appears. After a failover the new leader takes the Node's condition as the last word, so a
//   routed Node is not announced again.
// - It never blocks the routing pass: the controller hands it the report and goes on; its work runs one
//   round at a time, a newer report replacing one not yet started. A refused patch (403, 5xx) is one log
//   line (when it starts, or its error changes) and a metric, and other Nodes go on. Every patch and Event
//   is fenced (NodeConditions / NodeEvents call the leader's fence); a fence that fails ends the round.
import type { V1Node } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock } from '../lib/clock.ts';
import { forEachBounded } from '../lib/pool.ts';
import type { Logger } from '../log.ts';
import type { PassReport } from '../pass-types.ts';
import type { NodeWriteRefusal } from '../store/types.ts';
import type { VmRoute } from '../pass-vm-routes.ts';
import { BLOCK_EVENTS, FINDING_EVENTS, FINDING_KINDS, NODE_EVENTS, type NodeEventKind, NodeEvents } from './events.ts';
import type { KubeClient } from './client.ts';
import { networkCondition, NodeConditionError, NodeConditions, type RouteState } from './node-condition.ts';
import type { NodeFinding } from './node-inventory.ts';
import { NodeMetrics, type NodeRouteLabel } from './node-metrics.ts';
import type { NodeWatch } from './node-watch.ts';

export interface NodeReporterOptions {
  /** The inventory's Node watch: the Nodes as last seen (excluded ones are not ours to mark). */
  nodes: Pick<NodeWatch, 'current' | 'onChange'>;
  /** VM id → Node name, and the Nodes the last list could not map. */
  inventory: { nodeOf(vmId: string): string | undefined; findings(): readonly NodeFinding[] };
  conditions: Pick<NodeConditions, 'set'>;
  events: Pick<NodeEvents, 'record'>;
  /** Only the leader reports (the fence inside each write is the proof; this spares the attempt). */
  isLeader: () => boolean;
  logger: Logger;
  metrics?: NodeMetrics;
  /** Node patches in flight at once. */
  concurrency?: number;
}

/** What this process last made of a Node. */
interface Seen {
  uid: string | undefined;
  /** The transition key the Events follow: `active`, `lost`, `pending`, `blocked:<kinds>`. */
  state?: string;
  /** The condition written, and the resourceVersion of the copy it was written over. */
  wrote?: RouteState;
  fromRv?: string;
  /** The finding an Event was recorded for. */
  finding?: string;
  /** The last patch error logged. */
  error?: string;
}

/** The Node says its route was created (a previous leader's word, or ours). */
function saysRouted(n: V1Node): boolean {
  const c = networkCondition(n);
  return c?.status === 'False' && c.reason === 'RouteCreated';
}

/** What a Node's route state asks of its condition and Events. */
interface Decision {
  cond: RouteState;
  key: string;
  events: Array<{ kind: NodeEventKind; message: string }>;
}

export class NodeReporter {
  private readonly o: NodeReporterOptions;
  private readonly seen = new Map<string, Seen>();
  private wantNew: Set<string> | 'all' | undefined;
  private wantReport: PassReport | undefined;
  private draining: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(o: NodeReporterOptions) {
    this.o = o;
    // A new Node is marked at the watch's signal, before the controller's pass (debounced after it) runs.
    this.unsubscribe = o.nodes.onChange((names) => this.markNew(names));
  }

  /** Before a pass: every Node without a NetworkUnavailable condition gets True / NoRouteCreated. */
  passStarting(): void {
    this.markNew('all');
  }

  /** After a pass: every mapped Node's condition and Events from its route state. Returns at once. */
  passDone(report: PassReport): void {
    if (report.dryRun || !report.vms) return;
    this.wantReport = report;
    this.kick();
  }

  /** Resolves when no round is running or waiting (tests and benchmarks wait on it). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.wantNew = undefined;
    this.wantReport = undefined;
    await this.idle();
  }

  private markNew(names: ReadonlySet<string> | 'all'): void {
    if (this.closed) return;
    if (names === 'all' || this.wantNew === 'all') this.wantNew = 'all';
    else this.wantNew = new Set([...(this.wantNew ?? []), ...names]);
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.closed) return;
    this.draining = (async () => {
      try {
        while (!this.closed && (this.wantNew !== undefined || this.wantReport !== undefined)) {
          const names = this.wantNew;
          this.wantNew = undefined;
          if (names !== undefined) await this.round(() => this.newNodes(names));
          const report = this.wantReport;
          this.wantReport = undefined;
          if (report !== undefined) await this.round(() => this.afterPass(report));
        }
      } finally {
        this.draining = undefined;
      }
    })();
  }

  /** One round; whatever ends it (the fence, Nodes not known) is one line, and the next round tries again. */
  private async round(work: () => Promise<void>): Promise<void> {
    if (!this.o.isLeader()) return;
    try {
      await work();
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message }, 'Node conditions and Events not written this round');
    }
  }

  private snapshot(): ReadonlyMap<string, V1Node> {
    const nodes = this.o.nodes.current().nodes;
    for (const name of this.seen.keys()) if (!nodes.has(name)) this.seen.delete(name);
    return nodes;
  }

  private seenOf(n: V1Node): Seen {
    const name = n.metadata?.name as string;
    const uid = n.metadata?.uid;
    let s = this.seen.get(name);
    if (!s || s.uid !== uid) {
      s = { uid };
      this.seen.set(name, s);
    }
    return s;
  }

  private async newNodes(names: ReadonlySet<string> | 'all'): Promise<void> {
    const nodes = this.snapshot();
    const todo: V1Node[] = [];
    for (const [name, n] of nodes) {
      if (names !== 'all' && !names.has(name)) continue;
      if (networkCondition(n) !== undefined) continue;
      const s = this.seen.get(name);
      if (s && s.uid === n.metadata?.uid && s.wrote !== undefined) continue;
      todo.push(n);
    }
    await this.each(todo, async (n) => {
      await this.write(n, 'pending');
    });
  }

  private async afterPass(report: PassReport): Promise<void> {
    const nodes = this.snapshot();
    const byNode = new Map<string, VmRoute>();
    for (const v of report.vms ?? []) {
      const name = this.o.inventory.nodeOf(v.instanceId);
      if (name !== undefined && nodes.has(name)) byNode.set(name, v);
    }
    const findings = new Map<string, NodeFinding>();
    for (const f of this.o.inventory.findings()) if (nodes.has(f.node)) findings.set(f.node, f);
    const counts = new Map<NodeRouteLabel, number>();
    const count = (k: NodeRouteLabel) => counts.set(k, (counts.get(k) ?? 0) + 1);
    const work: Array<() => Promise<void>> = [];
    for (const [name, n] of nodes) {
      const s = this.seenOf(n);
      const f = findings.get(name);
      const v = byNode.get(name);
      if (f) {
        count('unmapped');
        work.push(() => this.finding(n, s, f));
      } else if (v) {
        count(v.state);
        const d = this.decide(n, s, v);
        if (d) work.push(() => this.apply(n, s, d));
      } else {
        count('unallocated');
        s.finding = undefined;
      }
    }
    this.o.metrics?.setNodes(counts);
    const byKind = new Map<string, number>();
    for (const f of findings.values()) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    this.o.metrics?.setFindings(byKind, FINDING_KINDS);
    await this.each(work, (w) => w());
  }

  /** `fn` over `items`, a few at a time; the first failure (the fence) stops the items not yet started. */
  private async each<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    const ac = new AbortController();
    await forEachBounded(
      items,
      this.o.concurrency ?? 8,
      async (item) => {
        try {
          await fn(item);
        } catch (e) {
          ac.abort(e);
          throw e;
        }
      },
      ac.signal,
    );
  }

  /** The previous transition key: ours, else what the Node's condition says (a previous leader's). */
  private before(n: V1Node, s: Seen): string | undefined {
    if (s.state !== undefined) return s.state;
    return saysRouted(n) ? 'active' : undefined;
  }

  private decide(n: V1Node, s: Seen, v: VmRoute): Decision | undefined {
    if (v.state === 'unknown') return undefined;
    const prev = this.before(n, s);
    const wasActive = prev === 'active' || prev === 'lost' || v.state === 'lost';
    const route = `route ${v.subnet} → ${v.instanceId}`;
    const tables = Object.keys(v.tables);
    if (v.state === 'active') {
      const events =
        prev === 'active'
          ? []
          : [
              {
                kind: 'route-created' as const,
                message: `${route} is active in every route table (${tables.join(', ')})`,
              },
            ];
      return { cond: 'active', key: 'active', events };
    }
    if (v.state === 'blocked') {
      const blocks = v.blocked ?? [];
      const key = `blocked:${[...new Set(blocks.map((b) => b.kind))].sort().join(',')}`;
      const events: Decision['events'] = [];
      if (prev !== key) {
        const said = new Set<NodeEventKind>();
        for (const b of blocks) {
          const kind = BLOCK_EVENTS[b.kind];
          if (!kind || said.has(kind)) continue;
          said.add(kind);
          events.push({ kind, message: `${route}: ${b.detail} (table ${b.table})` });
        }
      }
      return { cond: wasActive ? 'lost' : 'pending', key, events };
    }
    if (wasActive) {
      const missing = tables.filter((t) => v.tables[t] !== 'active');
      const events =
        prev === 'active'
          ? [{ kind: 'route-lost' as const, message: `${route} is missing from ${missing.join(', ')}; restoring it` }]
          : [];
      return { cond: 'lost', key: 'lost', events };
    }
    return { cond: 'pending', key: 'pending', events: [] };
  }

  private async apply(n: V1Node, s: Seen, d: Decision): Promise<void> {
    if (await this.write(n, d.cond)) {
      for (const e of d.events) await this.event(n, e.kind, e.message);
      s.state = d.key;
    }
  }

  private async finding(n: V1Node, s: Seen, f: NodeFinding): Promise<void> {
    const was = this.before(n, s);
    if (!(await this.write(n, was === 'active' || was === 'lost' ? 'lost' : 'pending'))) return;
    if (s.finding !== f.detail) {
      await this.event(n, FINDING_EVENTS[f.kind], f.detail);
      s.finding = f.detail;
    }
    s.state = 'unmapped';
  }

  /**
   * Brings the Node's condition to `cond`; false when it could not (refused, gone): the next round tries
   * again. Not sent when this process wrote it over the copy the watch still shows.
   */
  private async write(n: V1Node, cond: RouteState): Promise<boolean> {
    const s = this.seenOf(n);
    const rv = n.metadata?.resourceVersion;
    if (s.wrote === cond && s.fromRv !== undefined && s.fromRv === rv) return true;
    const name = n.metadata?.name as string;
    const status = cond === 'active' ? 'False' : 'True';
    try {
      const out = await this.o.conditions.set(n, cond);
      if (out === 'gone') {
        this.o.metrics?.patched(status, 'gone');
        this.seen.delete(name);
        return false;
      }
      if (out === 'patched') this.o.metrics?.patched(status, 'ok');
      s.wrote = cond;
      s.fromRv = rv;
      if (s.error !== undefined) this.o.logger.info({ node: name }, `Node ${name}: NetworkUnavailable written again`);
      s.error = undefined;
      return true;
    } catch (e) {
      if (!(e instanceof NodeConditionError)) throw e;
      this.o.metrics?.patched(status, e.code !== undefined ? String(e.code) : 'error');
      if (s.error !== e.message)
        this.o.logger.warn({ node: name, code: e.code }, `${e.message}; retried after the next pass`);
      s.error = e.message;
      return false;
    }
  }

  private async event(n: V1Node, kind: NodeEventKind, message: string): Promise<void> {
    const outcome = await this.o.events.record(n, kind, message);
    this.o.metrics?.event(NODE_EVENTS[kind].reason, outcome);
  }
}

/** The reporter of a Kubernetes inventory, writing through its client, fenced by the leader. */
export function nodeReporterFor(
  inventory: NodeReporterOptions['inventory'] & {
    kube: Pick<KubeClient, 'core' | 'options'>;
    nodeWatch: NodeReporterOptions['nodes'];
  },
  deps: {
    leadership: { isLeader(): boolean; fence(): Promise<void> };
    logger: Logger;
    clock?: Clock;
    /** The process's metrics registry (RoutesyncMetrics.registry). */
    registry?: Registry;
    /** reportingInstance of the Events. */
    instance: string;
    /** The store's refused Node writes (store.type kubernetes: a podCIDR patch answered 403/400). */
    refusals?: () => readonly NodeWriteRefusal[];
  },
): NodeReporter {
  const refusals = deps.refusals;
  const common = {
    kube: inventory.kube,
    logger: deps.logger,
    fence: () => deps.leadership.fence(),
    ...(deps.clock ? { clock: deps.clock } : {}),
  };
  return new NodeReporter({
    nodes: inventory.nodeWatch,
    inventory: {
      nodeOf: (id) => inventory.nodeOf(id),
      // A refused podCIDR write is the Node's finding like a bad providerID: True, an Event, once.
      findings: () => [
        ...inventory.findings(),
        ...(refusals?.() ?? []).map((r) => ({ node: r.node, kind: 'podcidr-refused' as const, detail: r.detail })),
      ],
    },
    conditions: new NodeConditions(common),
    events: new NodeEvents({ ...common, instance: deps.instance }),
    isLeader: () => deps.leadership.isLeader(),
    logger: deps.logger,
    ...(deps.registry ? { metrics: new NodeMetrics(deps.registry) } : {}),
  });
}
