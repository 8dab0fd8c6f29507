// Where allocations live, and who may write them. Each kind (src/store/<kind>/) provides both; they share one
// contract test suite (test/unit/store-contract): etcd (production, several replicas), file (embedded
// single-replica default, the CLI), memory (tests).

export interface Allocation {
  instanceId: string;
  /** CIDR text, e.g. 172.16.3.0/24. */
  subnet: string;
  name: string;
  privateIp: string;
  /** Epoch ms. Orders `blocked:quota` (oldest first) and feeds the quota forecast. */
  allocatedAt: number;
  /** Epoch ms since when the VM has been missing from the inventory; absent while it is present. */
  missingSince?: number;
}

export interface Released {
  subnet: string;
  /** Epoch ms; the subnet is not handed out again before releasedAt + reuseAfter. */
  releasedAt: number;
  instanceId: string;
}

export interface StoreSnapshot {
  allocations: Allocation[];
  released: Released[];
}

/**
 * An allocation moving to the VM's new id (src/migrate-ids.ts: a record of an older version, keyed by an id
 * form the provider no longer uses). Subnet, allocatedAt and missingSince stay; name and privateIp are the VM's.
 */
export interface IdMove {
  from: string;
  to: string;
  subnet: string;
  name: string;
  privateIp: string;
}

/** A wanted allocation; the store commits it only if neither the subnet nor the VM is taken (I1). */
export type AllocationRequest = Omit<Allocation, 'missingSince'>;

export interface AllocateResult {
  committed: Allocation[];
  /**
   * Requests refused because the subnet or the VM was taken meanwhile (another writer won the race), or
   * (store.type kubernetes) because no single Node runs that VM any more.
   */
  conflicts: Array<{
    request: AllocationRequest;
    /** `refused`: store.type kubernetes, the API server refused the Node's podCIDR write (403, 400). */
    reason: 'subnet-taken' | 'instance-has-subnet' | 'no-node' | 'refused';
  }>;
}

/** A Node whose write the store could not make (store.type kubernetes): the reporter makes it an Event. */
export interface NodeWriteRefusal {
  node: string;
  /** One line: what was refused and what it means for the Node. */
  detail: string;
}

export interface Store {
  /** The `store.type` it serves. A string, so that a new kind needs no line here (the kinds table types it). */
  readonly kind: string;
  /** Nodes whose last write was refused and not yet made (store.type kubernetes). */
  nodeRefusals?(): readonly NodeWriteRefusal[];
  /** Everything, in one consistent read. Throws when the store is unreachable or corrupt: never "empty". */
  load(): Promise<StoreSnapshot>;
  /** Atomically per request: compares both the subnet key and the VM key (etcd: batched transactions). */
  allocate(requests: AllocationRequest[]): Promise<AllocateResult>;
  /** Sets (number) or clears (null) missingSince for these VMs. */
  setMissing(updates: Array<{ instanceId: string; missingSince: number | null }>): Promise<void>;
  /**
   * Moves allocations to their VMs' new ids, each atomically and only while `from` still holds `subnet` and
   * `to` holds nothing (else that move is left out: another writer changed them). Returns the moves made.
   */
  rekey(moves: IdMove[]): Promise<IdMove[]>;
  /** Frees the VMs' subnets and records them as released at `at` (cool-down before reuse). */
  release(instanceIds: string[], at: number): Promise<Released[]>;
  /** Forgets released records older than `before` (their cool-down is over). */
  purgeReleased(before: number): Promise<void>;
  /**
   * For a store whose allocations are read off another record (store.type kubernetes: the Nodes'
   * podCIDRs): writes into its own record what the last load() found there and it does not hold yet (a
   * podCIDR to adopt, an old subnet of a Node that now carries another one, to release). Calls `fence`
   * first, and only when there is something to write: a pass at rest writes and reads nothing more.
   */
  settle?(fence: () => Promise<void> | void): Promise<void>;
  /**
   * Resolves when the store answers a small read within `timeoutMs`; rejects (one line naming the store)
   * when it refuses, hangs or is gone. Readiness and the one-off commands' first look use it.
   */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Who may write (I4). etcd: an Election; file: the lock file; memory: always. */
export interface Leadership {
  /** Resolves once this process leads; rejects when the signal aborts. */
  campaign(signal: AbortSignal): Promise<void>;
  isLeader(): boolean;
  /** Throws when leadership is not (or no longer) held: call before every write attempt. */
  fence(): Promise<void>;
  /**
   * fence()'s local part, synchronous and without I/O (etcd: the lease deadline on the monotonic clock):
   * for the moment a request goes on the wire, where nothing can be awaited.
   */
  checkNow(): void;
  /**
   * For one-off commands, where the store can tell at once who holds leadership (the file lock): take it
   * now or throw naming the holder. Without it a one-off command campaigns for a short while instead.
   */
  takeNow?(): Promise<void>;
  /** Hands leadership over at once (SIGTERM). */
  resign(): Promise<void>;
  /** Current leader's identity as known to the store, if any. */
  leader(): Promise<string | undefined>;
  /** Called when leadership is lost without resign (lease expired, connection lost). */
  onLost(cb: () => void): void;
  close(): Promise<void>;
}
