// Request counters per action and outcome, and per client identity (the access key / token a request
// was signed with), so tests can count wasted calls and prove that only the leader wrote.
export type OutcomeCounts = Record<string, number>;

export interface RequestLogEntry {
  /** When the request was answered (emulated ms). */
  at: number;
  /** When it arrived (emulated ms), before its latency: the order requests were sent in (I4's fencing proof). */
  receivedAt?: number;
  client: string;
  action: string;
  outcome: string;
  mutating: boolean;
}

export class RequestCounters {
  private readonly byAction = new Map<string, Map<string, number>>();
  private readonly byClient = new Map<string, Map<string, Map<string, number>>>();
  private total = 0;
  /** The last N requests in order, for invariant checks that need timing (writes by a non-leader). */
  private readonly recent: RequestLogEntry[] = [];
  private readonly keep: number;

  constructor(keep = 100_000) {
    this.keep = keep;
  }

  record(e: RequestLogEntry): void {
    this.total++;
    bump(
      getOr(this.byAction, e.action, () => new Map()),
      e.outcome,
    );
    bump(
      getOr(
        getOr(this.byClient, e.client, () => new Map()),
        e.action,
        () => new Map(),
      ),
      e.outcome,
    );
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
  }

  reset(): void {
    this.byAction.clear();
    this.byClient.clear();
    this.recent.length = 0;
    this.total = 0;
  }

  snapshot(): {
    total: number;
    byAction: Record<string, OutcomeCounts>;
    byClient: Record<string, Record<string, OutcomeCounts>>;
    log: RequestLogEntry[];
  } {
    const obj = (m: Map<string, number>) => Object.fromEntries(m);
    return {
      total: this.total,
      byAction: Object.fromEntries([...this.byAction].map(([a, m]) => [a, obj(m)])),
      byClient: Object.fromEntries(
        [...this.byClient].map(([c, am]) => [c, Object.fromEntries([...am].map(([a, m]) => [a, obj(m)]))]),
      ),
      log: [...this.recent],
    };
  }
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
