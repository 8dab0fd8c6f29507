// The etcd store's transactions. Bound to an EtcdLeadership (the etcd kind's open() does it), every write txn
// starts with a compare on the leader's election key (I4): a deposed leader's write fails in etcd itself,
// whatever its own view of the lease, and the failure is told apart from a lost race by reading that key in
// the txn's else branch. etcd limits each of a txn's compare/success/failure lists to --max-txn-ops.
import type { Etcd3 } from 'etcd3';
import { NotLeaderError } from './errors.ts';

/** etcd's default --max-txn-ops: the most compares, and the most ops per branch, one txn may hold. */
const MAX_TXN_OPS = 128;
/** Allocations per txn: 2 compares and 2 puts each, plus the leadership compare. */
export const ALLOCATIONS_PER_TXN = Math.floor((MAX_TXN_OPS - 1) / 2);
/** Plain puts/deletes (or per-key compares) per txn, the leadership compare aside. */
export const OPS_PER_TXN = MAX_TXN_OPS - 1;
/** Batches in flight at once: enough to hide round trips, few enough not to starve other etcd clients. */
export const PARALLEL_TXNS = 4;

/** What a store compares in each write txn (I4): our election key, still the one created when we were elected. */
export interface ElectionGuard {
  key: string;
  createRevision: string;
}

export type Txn = ReturnType<Etcd3['if']>;
type Op = Parameters<Txn['then']>[number];
type TxnResult = { responses: Array<{ response_range?: { kvs?: Array<{ create_revision: string }> } }> };

/** A write txn begun by GuardedTxns.begin(): its compares so far, and the guard it was begun under. */
export interface WriteTxn {
  txn: Txn;
  guard: ElectionGuard | undefined;
}

export class GuardedTxns {
  private readonly client: Etcd3;
  private readonly base: string;
  private guard: (() => ElectionGuard | undefined) | undefined;

  constructor(client: Etcd3, base: string) {
    this.client = client;
    this.base = base;
  }

  /** Makes every write conditional on the election key `guard` names (undefined: not the leader, refuse). */
  guardWith(guard: () => ElectionGuard | undefined): void {
    this.guard = guard;
  }

  /**
   * A txn starting with the leadership compare (or an always-true one when unguarded); add compares to
   * `.txn`, then finish it with withOps(). Throws NotLeaderError before any I/O when we know we do not lead.
   */
  begin(what: string): WriteTxn {
    if (!this.guard) return { txn: this.always(), guard: undefined };
    const g = this.guard();
    if (!g) throw new NotLeaderError(what, 'this process is not the leader');
    return { txn: this.client.if(g.key, 'Create', '==', g.createRevision), guard: g };
  }

  /** The txn's success ops; when guarded, its else branch reads the election key for checkGuard(). */
  withOps(t: WriteTxn, ops: Op[]): Txn {
    const txn = t.txn.then(...ops);
    return t.guard ? txn.else(this.client.get(t.guard.key)) : txn;
  }

  /** After a failed txn from begin(): throws NotLeaderError when it was the leadership compare that failed. */
  checkGuard(what: string, t: WriteTxn, res: TxnResult): void {
    if (!t.guard) return;
    const kv = res.responses[0]?.response_range?.kvs?.[0];
    if (!kv) throw new NotLeaderError(what, 'our election key is gone (lease expired or revoked)');
    if (String(kv.create_revision) !== t.guard.createRevision)
      throw new NotLeaderError(what, 'our election key was re-created by someone else');
  }

  /** Reads these keys at one revision: a txn whose compare always holds. */
  readAll(ops: Op[]) {
    return this.always()
      .then(...ops)
      .commit();
  }

  private always(): Txn {
    return this.client.if(this.base, 'Version', '>', -1);
  }
}
