// A test double of OUR CloudProvider interface (not of any SDK): in-memory tables with the behaviours the
// controller must cope with — marks or no marks (AWS), quota errors, failed reads, call counting.
import type {
  ApplyOptions,
  Change,
  ChangeResult,
  CloudProvider,
  Instance,
  InstanceLister,
  InstanceLookup,
  Quota,
  Route,
  RouteTable,
} from '../../providers/types.ts';
import { FencedError, ProviderError } from '../../providers/types.ts';
import type { Leadership } from '../../src/store/types.ts';

export interface FakeOptions {
  tables?: string[];
  /** false: routes carry no mark (AWS); true: routes we create are marked. */
  marks?: boolean;
  quota?: number;
  /** The quota the fake reports from quota() (defaults to the enforced one): lets a test make the API lie. */
  reportedQuota?: number;
  scope?: Quota['scope'];
}

export class FakeProvider implements CloudProvider, InstanceLister {
  readonly kind = 'aws' as const;
  instances: Instance[] = [];
  routes = new Map<string, Route[]>();
  quotaLimit: number;
  reportedQuota: number | undefined;
  readonly marks: boolean;
  readonly scope: Quota['scope'];
  failInstances: Error | undefined;
  /** VMs that exist but the listing leaves out (a short inventory); a lookup by id still finds them. */
  unlisted = new Set<string>();
  failLookup: Error | undefined;
  failRoutes = new Set<string>();
  writes: Change[] = [];
  calls: Record<string, number> = {};
  /** Called before each change is applied: lets a test pull leadership mid-apply. */
  beforeChange: ((c: Change) => Promise<void> | void) | undefined;

  constructor(opts: FakeOptions = {}) {
    for (const t of opts.tables ?? ['rtb-1'])
      this.routes.set(t, [
        {
          table: t,
          destination: '10.99.0.0/16',
          target: null,
          nextHop: 'local',
          state: 'active',
          marked: null,
          system: true,
        },
      ]);
    this.quotaLimit = opts.quota ?? 50;
    this.reportedQuota = opts.reportedQuota;
    this.marks = opts.marks ?? true;
    this.scope = opts.scope ?? 'table';
  }

  private count(action: string): void {
    this.calls[action] = (this.calls[action] ?? 0) + 1;
  }

  addInstance(id: string, state: Instance['state'] = 'running'): Instance {
    const i: Instance = { id, name: id, privateIp: `10.99.0.${this.instances.length + 10}`, zone: 'z1', state };
    this.instances.push(i);
    return i;
  }

  setState(id: string, state: Instance['state']): void {
    const i = this.instances.find((x) => x.id === id);
    if (i) i.state = state;
  }

  /** Terminated and gone from the listing; AWS-style routes to it turn blackhole. */
  removeInstance(id: string): void {
    this.instances = this.instances.filter((i) => i.id !== id);
    for (const rs of this.routes.values()) for (const r of rs) if (r.target === id) r.state = 'blackhole';
  }

  addForeign(table: string, destination: string, nextHop = 'vpn-1'): void {
    this.routes.get(table)?.push({
      table,
      destination,
      target: null,
      nextHop,
      state: 'active',
      marked: this.marks ? false : null,
      system: false,
      providerId: `foreign-${destination}`,
    });
  }

  ours(table: string): Route[] {
    return (this.routes.get(table) ?? []).filter((r) => !r.system && r.providerId?.startsWith('rs-'));
  }

  async listInstances(): Promise<Instance[]> {
    this.count('listInstances');
    if (this.failInstances) throw this.failInstances;
    return this.instances.filter((i) => !this.unlisted.has(i.id)).map((i) => ({ ...i }));
  }

  async lookupInstances(ids: readonly string[]): Promise<Map<string, InstanceLookup>> {
    this.count('lookupInstances');
    if (this.failLookup) throw this.failLookup;
    return new Map(ids.map((id) => [id, this.instances.find((i) => i.id === id)?.state ?? 'notFound']));
  }

  async routeTables(): Promise<RouteTable[]> {
    this.count('routeTables');
    return [...this.routes.keys()].map((id) => ({ id }));
  }

  async listRoutes(table: RouteTable): Promise<Route[]> {
    this.count('listRoutes');
    if (this.failRoutes.has(table.id))
      throw new ProviderError('unavailable', 'InternalError', `listing ${table.id} failed`, { action: 'listRoutes' });
    return (this.routes.get(table.id) ?? []).map((r) => ({ ...r }));
  }

  private used(table: string): number {
    const tables = this.scope === 'project' ? [...this.routes.keys()] : [table];
    return tables.reduce((n, t) => n + (this.routes.get(t) ?? []).filter((r) => !r.system).length, 0);
  }

  async quota(table: RouteTable): Promise<Quota> {
    this.count('quota');
    return {
      limit: this.reportedQuota ?? this.quotaLimit,
      used: this.used(table.id),
      source: 'config',
      scope: this.scope,
    };
  }

  async apply(table: RouteTable, changes: Change[], opts: ApplyOptions): Promise<ChangeResult[]> {
    const out: ChangeResult[] = [];
    const rs = this.routes.get(table.id) ?? [];
    let quotaHit = false;
    for (const c of changes) {
      if (opts.signal.aborted) throw opts.signal.reason;
      try {
        await opts.fence?.();
      } catch (e) {
        out.push({
          change: c,
          outcome: 'skipped',
          error: new FencedError(e),
        });
        continue;
      }
      await this.beforeChange?.(c);
      if (opts.signal.aborted) throw opts.signal.reason;
      if (c.op === 'create' && quotaHit) {
        // Like the real providers: after a quota error the rest of the table's creates are not sent.
        out.push({
          change: c,
          outcome: 'failed',
          error: new ProviderError('quota', 'RouteLimitExceeded', 'not attempted: quota', { action: 'CreateRoute' }),
        });
        continue;
      }
      this.count(c.op);
      this.writes.push(c);
      const i = rs.findIndex(
        (r) =>
          r.destination === c.destination && !r.system && (c.providerId === undefined || r.providerId === c.providerId),
      );
      if (c.op === 'create') {
        if (this.used(table.id) >= this.quotaLimit) {
          quotaHit = true;
          out.push({
            change: c,
            outcome: 'failed',
            error: new ProviderError('quota', 'RouteLimitExceeded', 'route limit exceeded', { action: 'CreateRoute' }),
          });
          continue;
        }
        if (i >= 0) {
          out.push({
            change: c,
            outcome: 'failed',
            error: new ProviderError('alreadyExists', 'RouteAlreadyExists', 'exists', { action: 'CreateRoute' }),
          });
          continue;
        }
        rs.push(this.route(table.id, c));
      } else if (c.op === 'replace') {
        if (i < 0) rs.push(this.route(table.id, c));
        else rs[i] = this.route(table.id, c);
      } else if (i >= 0) rs.splice(i, 1);
      else {
        out.push({ change: c, outcome: 'alreadyDone' });
        continue;
      }
      out.push({ change: c, outcome: 'applied', requestId: `req-${this.writes.length}` });
    }
    return out;
  }

  private route(table: string, c: Change): Route {
    const gone = !this.instances.some((i) => i.id === c.target);
    return {
      table,
      destination: c.destination,
      target: c.target,
      nextHop: c.target ?? '',
      state: gone ? 'blackhole' : 'active',
      marked: this.marks ? true : null,
      system: false,
      providerId: `rs-${c.destination}`,
    };
  }

  async close(): Promise<void> {}
}

/** Leadership a test controls. */
export class FakeLeadership implements Leadership {
  leading = true;
  resigned = 0;
  fences = 0;
  private lost: Array<() => void> = [];
  async campaign(signal: AbortSignal): Promise<void> {
    while (!this.leading) {
      if (signal.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  isLeader(): boolean {
    return this.leading;
  }
  async fence(): Promise<void> {
    this.fences++;
    this.checkNow();
  }
  checkNow(): void {
    if (!this.leading) throw new Error('leadership lost');
  }
  async resign(): Promise<void> {
    this.resigned++;
    this.leading = false;
  }
  async leader(): Promise<string | undefined> {
    return this.leading ? 'me' : undefined;
  }
  onLost(cb: () => void): void {
    this.lost.push(cb);
  }
  lose(): void {
    this.leading = false;
    for (const cb of this.lost) cb();
  }
  async close(): Promise<void> {}
}
