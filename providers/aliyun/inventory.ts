// The Aliyun inventory: ECS instances of the VPC by tag (every page, TotalCount cross-checked), and VMs
// asked for by id with no filter (an id ECS leaves out does not exist).
import type { Instance, InstanceLookup } from '../types.ts';
import type { AliyunApi } from './client.ts';
import { malformed } from './errors.ts';
import type { InstanceFilter } from '../plugin.ts';
import * as S from './schemas.ts';

const PAGE = 100;

export const STATES: Record<string, Instance['state']> = {
  Pending: 'pending',
  Starting: 'pending',
  Running: 'running',
  Stopping: 'stopping',
  Stopped: 'stopped',
};

interface InventoryDeps {
  api: AliyunApi;
  vpcId: string;
  filter: InstanceFilter;
  never: AbortSignal;
  /** The adapter's paging loop: each page turned into what is kept before the next is fetched. */
  paged<W, T>(
    action: string,
    key: (w: W) => string,
    as: (w: W) => T,
    fetchPage: (
      token: string | undefined,
    ) => Promise<{ items: W[]; next: string | undefined; total?: number | undefined }>,
  ): Promise<T[]>;
}

export function aliyunInventory(d: InventoryDeps) {
  const { api, vpcId, filter, never, paged } = d;

  function toInstance(i: S.InstanceWire): Instance {
    const state = STATES[i.Status] ?? 'terminated';
    const ip = i.VpcAttributes.PrivateIpAddress.IpAddress[0] ?? '';
    if (ip === '' && state === 'running')
      throw malformed('DescribeInstances', `running instance ${i.InstanceId} has no private IP`);
    return { id: i.InstanceId, name: i.InstanceName || i.InstanceId, privateIp: ip, zone: i.ZoneId, state };
  }

  async function listInstances(signal = never): Promise<Instance[]> {
    return paged(
      'DescribeInstances',
      (i: S.InstanceWire) => i.InstanceId,
      toInstance,
      async (token) => {
        const r = await api.call(
          'ecs',
          'DescribeInstances',
          {
            VpcId: vpcId,
            Tag: [{ Key: filter.key, Value: filter.value }],
            MaxResults: PAGE,
            ...(token ? { NextToken: token } : {}),
          },
          S.DescribeInstances,
          signal,
        );
        // TotalCount is cross-checked by the paging loop: a listing short of it is a failed read.
        return { items: r.Instances.Instance, next: r.NextToken || undefined, total: r.TotalCount };
      },
    );
  }

  async function lookupInstances(ids: readonly string[], signal = never): Promise<Map<string, InstanceLookup>> {
    const out = new Map<string, InstanceLookup>();
    // By id, without the tag or VPC filter: the question is whether the VM exists at all. ECS takes up to
    // 100 ids per call and answers the ones that exist; an id it leaves out does not exist (released).
    for (let i = 0; i < ids.length; i += PAGE) {
      const batch = ids.slice(i, i + PAGE);
      const r = await api.call(
        'ecs',
        'DescribeInstances',
        { InstanceIds: JSON.stringify(batch), MaxResults: PAGE },
        S.DescribeInstances,
        signal,
      );
      const found = r.Instances.Instance;
      if (r.NextToken)
        throw malformed(
          'DescribeInstances',
          `a lookup of ${batch.length} id(s) answered with a further page`,
          r.RequestId,
        );
      if (r.TotalCount === undefined || r.TotalCount !== found.length) {
        throw malformed(
          'DescribeInstances',
          `a lookup by id lists ${found.length} instance(s) but reports TotalCount ${String(r.TotalCount)}`,
          r.RequestId,
        );
      }
      const asked = new Set(batch);
      for (const f of found) {
        if (!asked.has(f.InstanceId))
          throw malformed(
            'DescribeInstances',
            `a lookup by id answered ${f.InstanceId}, which was not asked for`,
            r.RequestId,
          );
        out.set(f.InstanceId, STATES[f.Status] ?? 'terminated');
      }
      for (const id of batch) if (!out.has(id)) out.set(id, 'notFound');
    }
    return out;
  }

  return { listInstances, lookupInstances };
}
