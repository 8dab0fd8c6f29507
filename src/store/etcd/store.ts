// The production store: etcd v3 through the etcd3 client (layout and codec: ./keys.ts). Every allocation is
// a compare on BOTH the subnet key and the VM key (Version == 0), so two controllers racing can never give
// one subnet to two VMs or two subnets to one VM (I1). Requests are batched: 64 allocations (126 compares,
// 126 puts) fit in one txn with the leadership compare (./txn.ts), which every write carries (I4).
import { Etcd3 } from 'etcd3';
import { chunks } from '../../lib/chunks.ts';
import { forEachBounded } from '../../lib/pool.ts';
import type { Logger } from '../../log.ts';
import { validateRequests, type PoolShape } from '../state.ts';
import type { AllocateResult, AllocationRequest, IdMove, Released, Store, StoreSnapshot } from '../types.ts';
import { type EtcdClientConfig, etcdClientOptions } from './client.ts';
import { EtcdStoreError, wrapEtcdError } from './errors.ts';
import {
  decodeSnapshot,
  encodeSubnetValue,
  etcdBase,
  parseValue,
  type RecordKind,
  recordKey,
  type SubnetValue,
  subnetKey,
} from './keys.ts';
import { ALLOCATIONS_PER_TXN, type ElectionGuard, GuardedTxns, OPS_PER_TXN, PARALLEL_TXNS } from './txn.ts';

export interface EtcdStoreOptions extends EtcdClientConfig {
  prefix: string;
  cluster: string;
  /** Every record loaded must be a /subnetLen inside clusterCIDR, else the load fails naming the key. */
  pool?: PoolShape;
  logger: Logger;
}

/** A VM's record as read for an update: compared on its ModRevision so a concurrent change is never clobbered. */
interface Held {
  instanceId: string;
  subnet: string;
  value: SubnetValue;
  modRevision: string;
}

export class EtcdStore implements Store {
  readonly kind = 'etcd' as const;
  readonly client: Etcd3;
  /** `<prefix>/<cluster>/` */
  readonly base: string;
  private readonly logger: Logger;
  private readonly ownsClient: boolean;
  private readonly txns: GuardedTxns;
  private readonly pool: PoolShape | undefined;
  private readonly endpointList: string[];

  constructor(o: EtcdStoreOptions, client?: Etcd3) {
    this.endpointList = o.endpoints;
    this.base = etcdBase(o.prefix, o.cluster);
    this.logger = o.logger;
    this.pool = o.pool;
    this.ownsClient = client === undefined;
    this.client = client ?? new Etcd3(etcdClientOptions(o));
    this.txns = new GuardedTxns(this.client, this.base);
  }

  /** Makes every write conditional on the election key `guard` names (undefined: not the leader, refuse). */
  guardWith(guard: () => ElectionGuard | undefined): void {
    this.txns.guardWith(guard);
  }

  private k(kind: RecordKind, id: string): string {
    return recordKey(this.base, kind, id);
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
      throw wrapEtcdError(`read of ${this.base}`, e);
    }
    return decodeSnapshot(this.base, kvs, this.pool, this.logger);
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
      const t = this.txns.begin(what);
      for (const r of pending) {
        t.txn
          .and(this.k('subnets', subnetKey(r.subnet)), 'Version', '==', 0)
          .and(this.k('instances', r.instanceId), 'Version', '==', 0);
      }
      const txn = this.txns.withOps(
        t,
        pending.flatMap((r) => [
          this.client.put(this.k('subnets', subnetKey(r.subnet))).value(encodeSubnetValue(r)),
          this.client.put(this.k('instances', r.instanceId)).value(r.subnet),
        ]),
      );
      let res;
      try {
        res = await txn.commit();
      } catch (e) {
        throw wrapEtcdError(what, e);
      }
      if (!res.succeeded) this.txns.checkGuard(what, t, res);
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
      res = await this.txns.readAll(
        pending.flatMap((r) => [
          this.client.get(this.k('instances', r.instanceId)),
          this.client.get(this.k('subnets', subnetKey(r.subnet))),
        ]),
      );
    } catch (e) {
      throw wrapEtcdError('conflict re-read', e);
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
  private async readHeld(instanceIds: string[]): Promise<Held[]> {
    const out: Held[] = [];
    for (const ids of chunks(instanceIds, OPS_PER_TXN)) {
      const idx = await this.txns.readAll(ids.map((id) => this.client.get(this.k('instances', id))));
      const held = ids
        .map((id, i) => ({ id, subnet: idx.responses[i]?.response_range?.kvs?.[0]?.value?.toString() }))
        .filter((h): h is { id: string; subnet: string } => h.subnet !== undefined);
      if (held.length === 0) continue;
      const subs = await this.txns.readAll(held.map((h) => this.client.get(this.k('subnets', subnetKey(h.subnet)))));
      held.forEach((h, i) => {
        const kv = subs.responses[i]?.response_range?.kvs?.[0];
        if (!kv) return;
        const key = this.k('subnets', subnetKey(h.subnet));
        const value = parseValue<SubnetValue>(key, kv.value.toString(), (o) => typeof o.instanceId === 'string');
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
          const t = this.txns.begin('setMissing');
          for (const h of batch) t.txn.and(this.k('subnets', subnetKey(h.subnet)), 'Mod', '==', h.modRevision);
          const txn = this.txns.withOps(
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
          else this.txns.checkGuard('setMissing', t, res);
        }
      }
    } catch (e) {
      throw wrapEtcdError('setMissing', e);
    }
    if (want.size > 0)
      throw new EtcdStoreError(
        `setMissing: records of ${[...want.keys()].join(', ')} kept changing under us; try again`,
      );
  }

  async rekey(moves: IdMove[]): Promise<IdMove[]> {
    const out: IdMove[] = [];
    validateRequests(
      moves.map((m) => ({ instanceId: m.to, subnet: m.subnet, name: m.name, privateIp: m.privateIp, allocatedAt: 0 })),
    );
    try {
      const held = new Map((await this.readHeld([...new Set(moves.map((m) => m.from))])).map((h) => [h.instanceId, h]));
      // One txn per move (migrations are few, once): the record, its old index key unchanged and the new one
      // free, else that move is left to the next pass, which decides again on what it reads.
      for (const m of moves) {
        const h = held.get(m.from);
        if (!h || h.subnet !== m.subnet) continue;
        const t = this.txns.begin('rekey');
        t.txn
          .and(this.k('subnets', subnetKey(h.subnet)), 'Mod', '==', h.modRevision)
          .and(this.k('instances', m.from), 'Value', '==', h.subnet)
          .and(this.k('instances', m.to), 'Version', '==', 0);
        const value: SubnetValue = { ...h.value, instanceId: m.to, name: m.name, privateIp: m.privateIp };
        const res = await this.txns
          .withOps(t, [
            this.client.put(this.k('subnets', subnetKey(h.subnet))).value(JSON.stringify(value)),
            this.client.delete().key(this.k('instances', m.from)),
            this.client.put(this.k('instances', m.to)).value(h.subnet),
          ])
          .commit();
        if (res.succeeded) out.push({ ...m });
        else this.txns.checkGuard('rekey', t, res);
      }
    } catch (e) {
      throw wrapEtcdError('rekey', e);
    }
    return out;
  }

  async release(instanceIds: string[], at: number): Promise<Released[]> {
    if (!Number.isFinite(at)) throw new EtcdStoreError('release: at must be epoch milliseconds');
    const out: Released[] = [];
    try {
      const held = await this.readHeld([...new Set(instanceIds)]);
      // 2 compares, 3 ops per release.
      for (const batch of chunks(held, Math.floor(OPS_PER_TXN / 3))) {
        const t = this.txns.begin('release');
        for (const h of batch) t.txn.and(this.k('subnets', subnetKey(h.subnet)), 'Mod', '==', h.modRevision);
        for (const h of batch) t.txn.and(this.k('instances', h.instanceId), 'Value', '==', h.subnet);
        const txn = this.txns.withOps(
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
          this.txns.checkGuard('release', t, res);
          throw new EtcdStoreError(
            `release of ${batch.length} subnets lost a race with another writer; nothing in that batch was released, try again`,
          );
        }
        out.push(...batch.map((h) => ({ subnet: h.subnet, releasedAt: at, instanceId: h.instanceId })));
      }
    } catch (e) {
      throw wrapEtcdError('release', e);
    }
    return out;
  }

  async purgeReleased(before: number): Promise<void> {
    try {
      const kvs = await this.client.getAll().prefix(this.k('released', '')).strings();
      const old = Object.entries(kvs)
        .filter(
          ([key, v]) =>
            parseValue<{ releasedAt: number }>(key, v, (o) => typeof o.releasedAt === 'number').releasedAt < before,
        )
        .map(([key]) => key);
      for (const batch of chunks(old, OPS_PER_TXN)) {
        const t = this.txns.begin('purgeReleased');
        const res = await this.txns
          .withOps(
            t,
            batch.map((key) => this.client.delete().key(key)),
          )
          .commit();
        if (!res.succeeded) this.txns.checkGuard('purgeReleased', t, res);
      }
    } catch (e) {
      throw wrapEtcdError('purgeReleased', e);
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.close();
  }
}

export function createEtcdStore(o: EtcdStoreOptions, client?: Etcd3): EtcdStore {
  return new EtcdStore(o, client);
}
