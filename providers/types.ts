// The contract between the reconcile engine and a cloud. Everything cloud-specific (SDK calls, wire
// quirks, batching, error codes) stays behind it, in providers/<cloud>/provider.ts.
import type { Logger } from 'pino';

/** How a provider retries (providers/retry.ts applies it). */
export interface RetryPolicy {
  /** First backoff (ms); doubles per retry, with jitter (× 1–2). */
  baseMs: number;
  /** No single backoff is longer than this (ms). */
  capMs: number;
  /** Attempts in all, the first included (1 = never retry). */
  attempts: number;
  /** Stop retrying once this much time (ms) has passed since the first attempt. */
  maxRetryTimeMs?: number;
}

/** A VM of the cluster. `id` is what a route's `target` refers to (AWS/Aliyun instance id, GCE `<zone>/<name>`: names are unique per zone). */
export interface Instance {
  id: string;
  name: string;
  privateIp: string;
  zone: string;
  /** Normalised lifecycle: only `running` VMs get routes; the others are reported, never silently dropped. */
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'terminated';
  /**
   * GCE's listing: the instance URL. Informational only: no provider reads it from the inventory (GCE resolves
   * a route's nextHopInstance itself), so a source that is not the cloud's leaves it out.
   */
  selfLink?: string;
}

/**
 * What the cloud says of one VM asked for by id (not through the listing): its state, or `notFound` when
 * the cloud answers that no such VM exists. A lookup that fails is an error, never `notFound`.
 */
export type InstanceLookup = Instance['state'] | 'notFound';

/** A route table (Aliyun/AWS) or, on GCE, the VPC network whose routes act as one project-wide table. */
export interface RouteTable {
  id: string;
  name?: string;
  vpcId?: string;
}

export type RouteState = 'active' | 'pending' | 'blackhole';

export interface Route {
  table: string;
  destination: string;
  /** Instance id of the next hop, or null when the next hop is not an instance (gateway, ENI, …). */
  target: string | null;
  /** Human-readable next hop for reports when `target` is null (e.g. `igw-1`, `VpnGateway:vpn-1`). */
  nextHop: string;
  state: RouteState;
  /**
   * The provider's ownership mark for this cluster (Aliyun: entry name/description, GCE: name prefix +
   * description). AWS routes carry no mark: `null`, and ownership is decided by rule (DESIGN I2).
   */
  marked: boolean | null;
  /** System routes (local, default, subnet routes) are never changed. */
  system: boolean;
  /** Provider-side name/id when the cloud addresses routes by name (GCE) or entry id (Aliyun). */
  providerId?: string;
  /**
   * The cloud's word that the next hop cannot carry this route for a reason on the VM itself (GCE:
   * NEXT_HOP_CANNOT_IP_FORWARD, the VM was created without canIpForward): the warning's code. Deleting and
   * inserting the route again changes nothing (kubernetes#52398), so the plan reports it and leaves it.
   */
  cannotForward?: string;
  /**
   * Slots of the table's route quota this entry takes, when not 1: 0 for entries the cloud counts apart
   * (AWS: IPv6 and propagated routes), a prefix list's max entries for a route to it (AWS).
   */
  quotaWeight?: number;
}

export type ChangeOp = 'create' | 'replace' | 'delete';

export interface Change {
  op: ChangeOp;
  table: string;
  destination: string;
  /** create/replace: the instance id the route must point at. delete: the route's current target (or null). */
  target: string | null;
  /** replace/delete: what the route points at now. */
  previousTarget?: string | null;
  /** Provider-side id of the existing route (replace/delete), copied from Route.providerId. */
  providerId?: string;
  reason: string;
}

export type ChangeOutcome = 'applied' | 'alreadyDone' | 'failed' | 'skipped';

export interface ChangeResult {
  change: Change;
  outcome: ChangeOutcome;
  error?: ProviderError;
  requestId?: string;
}

export interface Quota {
  limit: number;
  used: number;
  /**
   * Where `limit` came from: `api` the account's applied value, `api-default` the cloud's default read from
   * its API (AWS: the account has no applied value), `config` provider.routeQuota, `default` the documented one.
   */
  source: 'api' | 'api-default' | 'config' | 'default';
  /** GCE's route quota is per project: every "table" of the network shares it. */
  scope: 'table' | 'project';
}

export type ProgressEvent =
  | { type: 'start'; table: string; total: number }
  | { type: 'result'; table: string; result: ChangeResult }
  | { type: 'wait'; table: string; reason: string; ms: number };

export interface ApplyOptions {
  signal: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * Fencing: called before every mutating cloud call; throws (and aborts the apply) when this process no
   * longer holds the leadership.
   */
  fence?: () => Promise<void> | void;
  /**
   * The synchronous, local part of the fence (the lease deadline, no I/O): run by the HTTP layer as each
   * write request goes on the wire (providers/wire-fence.ts), after everything `fence` could not see.
   */
  fenceNow?: () => void;
  /**
   * The table's quota as the caller read it moments ago (the reconcile pass); the provider reads it itself
   * when absent, so a standalone apply still knows its room before creating.
   */
  quota?: Quota;
}

/**
 * A cloud's own listing of the cluster's VMs (by tag/label). The engine does not see it: the cloud inventory
 * source (src/inventory/cloud.ts) wraps it, and another source (Kubernetes Nodes) needs no cloud listing.
 */
export interface InstanceLister {
  /** Every page of the cluster's instances (all states). Throws on any failed page: never a partial list. */
  listInstances(signal?: AbortSignal): Promise<Instance[]>;
  /**
   * What an operator should check when the listing is empty while VMs hold subnets, if the cloud answers a
   * missing permission with an empty list rather than an error (Aliyun's DescribeInstances). Said with the
   * safety valve's reason.
   */
  readonly emptyListingHint?: string;
}

/** The engine's contract with a cloud: route tables, routes, quota, lookups by id and writes. */
export interface CloudProvider {
  /** The plug-in's kind (providers/plugins.ts, where ProviderKind is the union of them). */
  readonly kind: string;
  /**
   * Asks the cloud directly about each VM (AWS/Aliyun DescribeInstances by InstanceIds, GCE by name), with
   * no tag or network filter: before a release, "missing" must mean the cloud says so when asked, not that
   * a listing left the VM out. Every id gets an answer, or the whole lookup throws.
   */
  lookupInstances(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, InstanceLookup>>;
  /**
   * The id an older version of routesync stored the VM of `id` under, when the provider's id form changed
   * (GCE: the bare instance name, before ids carried the zone); undefined when it did not. Records keyed by
   * it are migrated by name + private IP (src/migrate-ids.ts).
   */
  formerId?(id: string): string | undefined;
  /** Configured `routeTableIds`, else discovered from the VPC/network. */
  routeTables(signal?: AbortSignal): Promise<RouteTable[]>;
  /** Every entry of the table, ours and foreign, with state. Throws on any failed page. */
  listRoutes(table: RouteTable, signal?: AbortSignal): Promise<Route[]>;
  /**
   * The table's route quota and use. `routes`: the table's listing from this pass, when the caller has one,
   * so a table-scoped `used` is counted from it instead of listing the table a second time.
   */
  quota(table: RouteTable, signal?: AbortSignal, routes?: readonly Route[]): Promise<Quota>;
  /** Applies the changes for one table in the way this cloud does best. Never throws for a single change. */
  apply(table: RouteTable, changes: Change[], opts: ApplyOptions): Promise<ChangeResult[]>;
  /**
   * Resolves the credentials the calls will use, before any call: missing credentials are one ProviderError
   * ('auth') naming what to set, not a pass of failed calls. Commands call it once at start.
   */
  preflight?(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** What a cloud's factory builds: the engine's contract and the listing its inventory source wraps. */
export type CloudAdapter = CloudProvider & InstanceLister;

export type ProviderErrorKind =
  | 'throttled'
  | 'busy'
  | 'quota'
  | 'alreadyExists'
  | 'notFound'
  | 'invalid'
  | 'auth'
  | 'unavailable';

export const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set(['throttled', 'busy', 'unavailable']);

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly action: string;
  constructor(
    kind: ProviderErrorKind,
    code: string,
    message: string,
    opts: { action: string; requestId?: string; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.code = code;
    this.action = opts.action;
    this.requestId = opts.requestId;
  }
  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }
}

/**
 * Lost leadership, the one way every provider says it: the fence refused, so the apply stops and each change
 * it did not send is `skipped` with this error.
 */
export class FencedError extends ProviderError {
  constructor(cause: unknown) {
    super(
      'auth',
      'Fenced',
      `apply stopped: leadership lost (${cause instanceof Error ? cause.message : String(cause)})`,
      {
        action: 'fence',
        cause,
      },
    );
    this.name = 'FencedError';
  }
}

/** Hooks the providers call so metrics live outside them (src/metrics.ts implements this). */
export interface ApiObserver {
  request(action: string, outcome: string, seconds: number): void;
  retry(action: string, kind: ProviderErrorKind): void;
}

export const NOOP_OBSERVER: ApiObserver = { request() {}, retry() {} };

export interface ProviderContext {
  cluster: string;
  clusterCIDR: string;
  logger: Logger;
  observer?: ApiObserver;
  /**
   * Tunes the retry policy of every cloud call (providers/retry.ts): unset fields keep the production
   * default (200 ms base, 10 s cap, 8 attempts). A provider's internal (test) override still wins.
   */
  retry?: Partial<RetryPolicy>;
  /**
   * For rehearsals against a time-scaled emulator: every provider-side wait — backoff, polling, settle —
   * is divided by it. Default 1 (real clouds).
   */
  timeScale?: number;
}
