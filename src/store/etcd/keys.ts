// The etcd store's layout under `<prefix>/<cluster>/` and the codec of its values:
//   subnets/<a.b.c.d-len>  → JSON {instanceId, name, privateIp, allocatedAt, missingSince?}
//   instances/<id>         → subnet (CIDR text)
//   released/<a.b.c.d-len> → JSON {releasedAt, instanceId}
//   election/…             → leader election (./election.ts)
// A record that does not parse, or whose subnet cannot be ours, fails the read naming the key: never "empty".
import type { Logger } from '../../log.ts';
import { storedSubnetProblem, type PoolShape } from '../state.ts';
import type { Allocation, AllocationRequest, Released, StoreSnapshot } from '../types.ts';
import { EtcdStoreError } from './errors.ts';

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

export type RecordKind = 'subnets' | 'instances' | 'released';

/** The key of one record: `<base><kind>/<id>` (subnets and released take subnetKey(subnet) as id). */
export function recordKey(base: string, kind: RecordKind, id: string): string {
  return `${base}${kind}/${id}`;
}

/** The value of a `subnets/` key. */
export interface SubnetValue {
  instanceId: string;
  name: string;
  privateIp: string;
  allocatedAt: number;
  missingSince?: number;
}

export function encodeSubnetValue(a: AllocationRequest & { missingSince?: number }): string {
  const v: SubnetValue = {
    instanceId: a.instanceId,
    name: a.name,
    privateIp: a.privateIp,
    allocatedAt: a.allocatedAt,
  };
  if (a.missingSince !== undefined) v.missingSince = a.missingSince;
  return JSON.stringify(v);
}

/** A JSON object that `ok` accepts, or an error naming the key and showing the start of the value. */
export function parseValue<T>(key: string, value: string, ok: (o: Record<string, unknown>) => boolean): T {
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

/** Everything under `base` (one range read: one revision) as a snapshot, oldest first. */
export function decodeSnapshot(
  base: string,
  kvs: Record<string, string>,
  pool: PoolShape | undefined,
  logger: Logger,
): StoreSnapshot {
  const allocations: Allocation[] = [];
  const released: Released[] = [];
  const index = new Map<string, string>();
  for (const [key, value] of Object.entries(kvs)) {
    const rest = key.slice(base.length);
    const slash = rest.indexOf('/');
    const kind = rest.slice(0, slash);
    const id = rest.slice(slash + 1);
    if (kind === 'subnets' || kind === 'released') {
      const why = storedSubnetProblem(subnetFromKey(id), pool);
      if (why)
        throw new EtcdStoreError(
          `etcd key ${key} is not one of our records: ${why} (not using it; fix or delete the key)`,
        );
    }
    if (kind === 'subnets') {
      const v = parseValue<SubnetValue>(
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
      const v = parseValue<{ releasedAt: number; instanceId: string }>(
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
      logger.warn(
        { instanceId: a.instanceId, subnet: a.subnet, index: index.get(a.instanceId) },
        'etcd store: subnet and VM index disagree',
      );
  }
  allocations.sort((a, b) => a.allocatedAt - b.allocatedAt || (a.subnet < b.subnet ? -1 : 1));
  released.sort((a, b) => a.releasedAt - b.releasedAt || (a.subnet < b.subnet ? -1 : 1));
  return { allocations, released };
}
