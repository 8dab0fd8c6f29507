// The production store: etcd v3 through the etcd3 client. Layout under `<prefix>/<cluster>/`:
//   subnets/<a.b.c.d-len>  → JSON {instanceId, name, privateIp, allocatedAt, missingSince?}
//   instances/<id>         → subnet (CIDR text)
//   released/<a.b.c.d-len> → JSON {releasedAt, instanceId}
//   election/…             → leader election (src/leader.ts)
// Every allocation is a compare on BOTH the subnet key and the VM key (Version == 0), so two controllers
// racing can never give one subnet to two VMs or two subnets to one VM (I1). Requests are batched: etcd
// limits each of a txn's compare/success/failure lists to --max-txn-ops (128 by default), so 64
// allocations (126 compares, 126 puts) fit in one txn with the leadership compare.
// Bound to an EtcdLeadership (createLeadership does it), every write txn also compares the leader's election
// key (I4): a deposed leader's write fails in etcd itself, whatever its own view of the lease, and the
// failure is told apart from a lost race by reading that key in the txn's else branch.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { chunks } from '../lib/chunks.ts';
import { forEachBounded } from '../lib/pool.ts';
import type { ElectionGuard } from '../leader.ts';
import type { Logger } from '../log.ts';
import { storedSubnetProblem, validateRequests, type PoolShape } from './state.ts';
import type { AllocateResult, Allocation, AllocationRequest, Released, Store, StoreSnapshot } from './types.ts';

/** etcd's default --max-txn-ops: the most compares, and the most ops per branch, one txn may hold. */
const MAX_TXN_OPS = 128;
/** Allocations per txn: 2 compares and 2 puts each, plus the leadership compare. */
export const ALLOCATIONS_PER_TXN = Math.floor((MAX_TXN_OPS - 1) / 2);
/** Plain puts/deletes (or per-key compares) per txn, the leadership compare aside. */
const OPS_PER_TXN = MAX_TXN_OPS - 1;
/** Batches in flight at once: enough to hide round trips, few enough not to starve other etcd clients. */
const PARALLEL_TXNS = 4;

export interface EtcdStoreOptions {
  endpoints: string[];
  prefix: string;
  cluster: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /** Deadline of every unary call: an unreachable etcd is an error, not a hang. */
  callTimeoutMs?: number;
  /** Every record loaded must be a /subnetLen inside clusterCIDR, else the load fails naming the key. */
  pool?: PoolShape;
  logger: Logger;
}

export class EtcdStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EtcdStoreError';
  }
}

/** A store write refused because this process does not (or no longer) lead: nothing of it was written. */
export class NotLeaderError extends EtcdStoreError {
  constructor(what: string, why: string) {
    super(`etcd ${what} refused: ${why}; nothing was written`);
    this.name = 'NotLeaderError';
  }
}

type Txn = ReturnType<Etcd3['if']>;

/** `172.16.3.0/24` ↔ `172.16.3.0-24`: a key segment without a slash. */
export function subnetKey(subnet: string): string {
  return subnet.replace('/', '-');
}
export function subnetFromKey(key: string): string {
  return key.replace(/-(\d+)$/, '/$1');
}

export function etcdBase(prefix: string, cluster: string): string {
  return `${prefix === '/' ? '' : prefix}/${cluster}/`;
}

function readTlsFile(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new EtcdStoreError(
      `store.tls.${field}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

export function etcdClientOptions(o: Pick<EtcdStoreOptions, 'endpoints' | 'tls' | 'callTimeoutMs'>): IOptions {
  const timeout = o.callTimeoutMs ?? 5000;
  const opts: IOptions = {
    hosts: o.endpoints,
    // Streams (watch, lease keep-alive) live long; only unary calls get a deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  };
  if (o.tls) {
    if (!o.tls.ca) throw new EtcdStoreError('store.tls.ca: is required to talk TLS to etcd');
    opts.credentials = {
      rootCertificate: readTlsFile(o.tls.ca, 'ca'),
      ...(o.tls.cert ? { certChain: readTlsFile(o.tls.cert, 'cert') } : {}),
      ...(o.tls.key ? { privateKey: readTlsFile(o.tls.key, 'key') } : {}),
    };
  }
  return opts;
}

interface SubnetValue {
  instanceId: string;
  name: string;
  privateIp: string;
  allocatedAt: number;
  missingSince?: number;
}

export class EtcdStore implements Store {
  readonly kind = 'etcd' as const;
  readonly client: Etcd3;
  /** `<prefix>/<cluster>/` */
  readonly base: string;
  private readonly logger: Logger;
  private readonly ownsClient: boolean;
  private guard: (() => ElectionGuard | undefined) | undefined;
  private readonly pool: PoolShape | undefined;
  private readonly endpointList: string[];

  constructor(o: EtcdStoreOptions, client?: Etcd3) {
    this.endpointList = o.endpoints;
    this.base = etcdBase(o.prefix, o.cluster);
    this.logger = o.logger;
    this.pool = o.pool;
    this.ownsClient = client === undefined;
    this.client = client ?? new Etcd3(etcdClientOptions(o));
  }

  /** Makes every write conditional on the election key `guard` names (undefined: not the leader, refuse). */
  guardWith(guard: () => ElectionGuard | undefined): void {
    this.guard = guard;
  }

  /**
   * A txn starting with the leadership compare (or an always-true one when unguarded), reading the election
   * key in its else branch. Throws NotLeaderError before any I/O when we know we do not lead.
   */
  private txn(what: string): { txn: Txn; guard: ElectionGuard | undefined } {
    if (!this.guard) return { txn: this.client.if(this.base, 'Version', '>', -1), guard: undefined };
    const g = this.guard();
    if (!g) throw new NotLeaderError(what, 'this process is not the leader');
    return { txn: this.client.if(g.key, 'Create', '==', g.createRevision), guard: g };
  }

  /** After a failed txn from txn(): was it the leadership compare? (Its else branch read the election key.) */
  private checkGuard(
    what: string,
    guard: ElectionGuard | undefined,
    res: { responses: Array<{ response_range?: { kvs?: Array<{ create_revision: string }> } }> },
  ): void {
    if (!guard) return;
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    if (!kv) throw new NotLeaderError(what, 'our election key is gone (lease expired or revoked)');
    if (String(kv.create_revision) !== guard.createRevision)
      throw new NotLeaderError(what, 'our election key was re-created by someone else');
  }

  private withElse(t: { txn: Txn; guard: ElectionGuard | undefined }, thenOps: Parameters<Txn['then']>): Txn {
    const txn = t.txn.then(...thenOps);
    return t.guard ? txn.else(this.client.get(t.guard.key)) : txn;
  }

  private k(kind: 'subnets' | 'instances' | 'released', id: string): string {
    return `${this.base}${kind}/${id}`;
  }

  private wrap(what: string, e: unknown): EtcdStoreError {
    return e instanceof EtcdStoreError
      ? e
      : new EtcdStoreError(`etcd ${what} failed: ${(e as Error).message?.split('\n')[0] ?? String(e)}`, { cause: e });
  }

  /** The endpoints, for messages: "cannot reach etcd at …". */
  get endpoints(): string[] {
    return this.endpointList;
  }

  /** One single-key read with its own deadline: a frozen etcd (TCP accepted, never answering) fails it too. */
  async ping(timeoutMs: number): Promise<void> {
    try {
      await this.client
        .get(`${this.base}ping`)
        .options({ deadline: Date.now() + timeoutMs })
        .string();
    } catch (e) {
      const why = /deadline/i.test((e as Error).message ?? '')
        ? `no answer within ${timeoutMs} ms`
        : ((e as Error).message?.split('\n')[0] ?? String(e));
      throw new EtcdStoreError(
        `cannot reach etcd at ${this.endpointList.join(', ')} (${why}): is store.endpoints right, and is etcd up?`,
        { cause: e },
      );
    }
  }

  /** One range over the whole cluster prefix: a single consistent read at one revision. */
  async load(): Promise<StoreSnapshot> {
    let kvs: Record<string, string>;
    try {
      kvs = await this.client.getAll().prefix(this.base).strings();
    } catch (e) {
      throw this.wrap(`read of ${this.base}`, e);
    }
    const allocations: Allocation[] = [];
    const released: Released[] = [];
    const index = new Map<string, string>();
    for (const [key, value] of Object.entries(kvs)) {
      const rest = key.slice(this.base.length);
      const slash = rest.indexOf('/');
      const kind = rest.slice(0, slash);
      const id = rest.slice(slash + 1);
      if (kind === 'subnets' || kind === 'released') {
        const why = storedSubnetProblem(subnetFromKey(id), this.pool);
        if (why)
          throw new EtcdStoreError(
            `etcd key ${key} is not one of our records: ${why} (not using it; fix or delete the key)`,
          );
      }
      if (kind === 'subnets') {
        const v = this.parse<SubnetValue>(
          key,
          value,
          (o) => typeof o.instanceId === 'string' && typeof o.allocatedAt === 'number',
        );
        const a: Allocation = {
          instanceId: v.instanceId,
          subnet: subnetFromKey(id),
          name: v.name ?? '',
          privateIp: v.privateIp ?? '',
          allocatedAt: v.allocatedAt,
        };
        if (typeof v.missingSince === 'number') a.missingSince = v.missingSince;
        allocations.push(a);
      } else if (kind === 'released') {
        const v = this.parse<{ releasedAt: number; instanceId: string }>(
          key,
          value,
          (o) => typeof o.releasedAt === 'number',
        );
        released.push({ subnet: subnetFromKey(id), releasedAt: v.releasedAt, instanceId: String(v.instanceId ?? '') });
      } else if (kind === 'instances') {
        index.set(id, value);
      }
    }
    for (const a of allocations) {
      if (index.get(a.instanceId) !== a.subnet)
        this.logger.warn(
          { instanceId: a.instanceId, subnet: a.subnet, index: index.get(a.instanceId) },
          'etcd store: subnet and VM index disagree',
        );
    }
    allocations.sort((a, b) => a.allocatedAt - b.allocatedAt || (a.subnet < b.subnet ? -1 : 1));
    released.sort((a, b) => a.releasedAt - b.releasedAt || (a.subnet < b.subnet ? -1 : 1));
    return { allocations, released };
  }

  private parse<T>(key: string, value: string, ok: (o: Record<string, unknown>) => boolean): T {
    let o: unknown;
    try {
      o = JSON.parse(value);
    } catch {
      throw new EtcdStoreError(`etcd key ${key} holds invalid JSON: ${value.slice(0, 80)}`);
    }
    if (typeof o !== 'object' || o === null || !ok(o as Record<string, unknown>))
      throw new EtcdStoreError(`etcd key ${key} holds an unexpected value: ${value.slice(0, 80)}`);
    return o as T;
  }

  private subnetValue(a: AllocationRequest & { missingSince?: number }): string {
    const v: SubnetValue = {
      instanceId: a.instanceId,
      name: a.name,
      privateIp: a.privateIp,
      allocatedAt: a.allocatedAt,
    };
    if (a.missingSince !== undefined) v.missingSince = a.missingSince;
    return JSON.stringify(v);
  }

  async allocate(requests: AllocationRequest[]): Promise<AllocateResult> {
    const result: AllocateResult = { committed: [], conflicts: [] };
    // Two puts of one key in one txn is an etcd error, so duplicates within the call are settled here,
    // the same way the other stores settle them: the first request wins.
    const subnets = new Set<string>();
    const vms = new Set<string>();
    const unique: AllocationRequest[] = [];
    for (const r of validateRequests(requests)) {
      if (vms.has(r.instanceId)) result.conflicts.push({ request: r, reason: 'instance-has-subnet' });
      else if (subnets.has(r.subnet)) result.conflicts.push({ request: r, reason: 'subnet-taken' });
      else {
        vms.add(r.instanceId);
        subnets.add(r.subnet);
        unique.push(r);
      }
    }
    await forEachBounded(chunks(unique, ALLOCATIONS_PER_TXN), PARALLEL_TXNS, (batch) =>
      this.allocateBatch(batch, result),
    );
    return result;
  }

  private async allocateBatch(batch: AllocationRequest[], result: AllocateResult): Promise<void> {
    let pending = batch;
    // Each failed round settles at least one conflict (or the txn succeeds), so this ends.
    while (pending.length > 0) {
      const what = `allocation txn of ${pending.length} subnets`;
      const t = this.txn(what);
      for (const r of pending) {
        t.txn
          .and(this.k('subnets', subnetKey(r.subnet)), 'Version', '==', 0)
          .and(this.k('instances', r.instanceId), 'Version', '==', 0);
      }
      const txn = this.withElse(
        t,
        pending.flatMap((r) => [
          this.client.put(this.k('subnets', subnetKey(r.subnet))).value(this.subnetValue(r)),
          this.client.put(this.k('instances', r.instanceId)).value(r.subnet),
        ]),
      );
      let res;
      try {
        res = await txn.commit();
      } catch (e) {
        throw this.wrap(what, e);
      }
      if (!res.succeeded) this.checkGuard(what, t.guard, res);
      if (res.succeeded) {
        result.committed.push(...pending.map((r) => ({ ...r })));
        return;
      }
      pending = await this.dropConflicts(pending, result);
    }
  }

  /** After a failed txn: which requests collided with something already stored? The rest are retried. */
  private async dropConflicts(pending: AllocationRequest[], result: AllocateResult): Promise<AllocationRequest[]> {
    let res;
    try {
      res = await this.client
        .if(this.base, 'Version', '>', -1) // always true: a txn just to read every key at one revision
        .then(
          ...pending.flatMap((r) => [
            this.client.get(this.k('instances', r.instanceId)),
            this.client.get(this.k('subnets', subnetKey(r.subnet))),
          ]),
        )
        .commit();
    } catch (e) {
      throw this.wrap('conflict re-read', e);
    }
    const exists = (i: number) => (res.responses[i]?.response_range?.kvs?.length ?? 0) > 0;
    const still: AllocationRequest[] = [];
    pending.forEach((request, i) => {
      if (exists(2 * i)) result.conflicts.push({ request, reason: 'instance-has-subnet' });
      else if (exists(2 * i + 1)) result.conflicts.push({ request, reason: 'subnet-taken' });
      else still.push(request);
    });
    return still;
  }

  /** Reads the VM index and subnet records of these VMs at one revision. */
  private async readHeld(
    instanceIds: string[],
  ): Promise<Array<{ instanceId: string; subnet: string; value: SubnetValue; modRevision: string }>> {
    const out: Array<{ instanceId: string; subnet: string; value: SubnetValue; modRevision: string }> = [];
    for (const ids of chunks(instanceIds, OPS_PER_TXN)) {
      const idx = await this.client
        .if(this.base, 'Version', '>', -1)
        .then(...ids.map((id) => this.client.get(this.k('instances', id))))
        .commit();
      const held = ids
        .map((id, i) => ({ id, subnet: idx.responses[i]?.response_range?.kvs?.[0]?.value?.toString() }))
        .filter((h): h is { id: string; subnet: string } => h.subnet !== undefined);
      if (held.length === 0) continue;
      const subs = await this.client
        .if(this.base, 'Version', '>', -1)
        .then(...held.map((h) => this.client.get(this.k('subnets', subnetKey(h.subnet)))))
        .commit();
      held.forEach((h, i) => {
        const kv = subs.responses[i]?.response_range?.kvs?.[0];
        if (!kv) return;
        const key = this.k('subnets', subnetKey(h.subnet));
        const value = this.parse<SubnetValue>(key, kv.value.toString(), (o) => typeof o.instanceId === 'string');
        if (value.instanceId !== h.id) return;
        out.push({ instanceId: h.id, subnet: h.subnet, value, modRevision: String(kv.mod_revision) });
      });
    }
    return out;
  }

  async setMissing(updates: Array<{ instanceId: string; missingSince: number | null }>): Promise<void> {
    for (const u of updates) {
      if (u.missingSince !== null && !Number.isFinite(u.missingSince))
        throw new EtcdStoreError(`setMissing: missingSince for ${u.instanceId} must be epoch ms or null`);
    }
    const want = new Map(updates.map((u) => [u.instanceId, u.missingSince]));
    try {
      // A concurrent change to a record (compare on ModRevision) makes us re-read and retry, never clobber.
      for (let attempt = 0; attempt < 5 && want.size > 0; attempt++) {
        const held = await this.readHeld([...want.keys()]);
        for (const id of [...want.keys()]) if (!held.some((h) => h.instanceId === id)) want.delete(id);
        for (const batch of chunks(held, OPS_PER_TXN)) {
          const t = this.txn('setMissing');
          for (const h of batch) t.txn.and(this.k('subnets', subnetKey(h.subnet)), 'Mod', '==', h.modRevision);
          const txn = this.withElse(
            t,
            batch.map((h) => {
              const since = want.get(h.instanceId);
              const v: SubnetValue = { ...h.value };
              if (since === null || since === undefined) delete v.missingSince;
              else v.missingSince = since;
              return this.client.put(this.k('subnets', subnetKey(h.subnet))).value(JSON.stringify(v));
            }),
          );
          const res = await txn.commit();
          if (res.succeeded) for (const h of batch) want.delete(h.instanceId);
          else this.checkGuard('setMissing', t.guard, res);
        }
      }
    } catch (e) {
      throw this.wrap('setMissing', e);
    }
    if (want.size > 0)
      throw new EtcdStoreError(
        `setMissing: records of ${[...want.keys()].join(', ')} kept changing under us; try again`,
      );
  }

  async release(instanceIds: string[], at: number): Promise<Released[]> {
    if (!Number.isFinite(at)) throw new EtcdStoreError('release: at must be epoch milliseconds');
    const out: Released[] = [];
    try {
      const held = await this.readHeld([...new Set(instanceIds)]);
      // 2 compares, 3 ops per release.
      for (const batch of chunks(held, Math.floor(OPS_PER_TXN / 3))) {
        const t = this.txn('release');
        for (const h of batch) t.txn.and(this.k('subnets', subnetKey(h.subnet)), 'Mod', '==', h.modRevision);
        for (const h of batch) t.txn.and(this.k('instances', h.instanceId), 'Value', '==', h.subnet);
        const txn = this.withElse(
          t,
          batch.flatMap((h) => [
            this.client.delete().key(this.k('subnets', subnetKey(h.subnet))),
            this.client.delete().key(this.k('instances', h.instanceId)),
            this.client
              .put(this.k('released', subnetKey(h.subnet)))
              .value(JSON.stringify({ releasedAt: at, instanceId: h.instanceId })),
          ]),
        );
        const res = await txn.commit();
        if (!res.succeeded) {
          this.checkGuard('release', t.guard, res);
          throw new EtcdStoreError(
            `release of ${batch.length} subnets lost a race with another writer; nothing in that batch was released, try again`,
          );
        }
        out.push(...batch.map((h) => ({ subnet: h.subnet, releasedAt: at, instanceId: h.instanceId })));
      }
    } catch (e) {
      throw this.wrap('release', e);
    }
    return out;
  }

  async purgeReleased(before: number): Promise<void> {
    try {
      const kvs = await this.client.getAll().prefix(this.k('released', '')).strings();
      const old = Object.entries(kvs)
        .filter(
          ([key, v]) =>
            this.parse<{ releasedAt: number }>(key, v, (o) => typeof o.releasedAt === 'number').releasedAt < before,
        )
        .map(([key]) => key);
      for (const batch of chunks(old, OPS_PER_TXN)) {
        const t = this.txn('purgeReleased');
        const res = await this.withElse(
          t,
          batch.map((key) => this.client.delete().key(key)),
        ).commit();
        if (!res.succeeded) this.checkGuard('purgeReleased', t.guard, res);
      }
    } catch (e) {
      throw this.wrap('purgeReleased', e);
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.close();
  }
}

export function createEtcdStore(o: EtcdStoreOptions, client?: Etcd3): EtcdStore {
  return new EtcdStore(o, client);
}
