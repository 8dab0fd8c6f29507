// The Aliyun emulator driven through the official @alicloud/pop-core client: what the SDK sends, the
// emulator must answer with the real response shapes and error codes.
import RPCClient from '@alicloud/pop-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createAliyunEmulator, EMULATOR_TOPOLOGY } from '../../emulators/aliyun/emulator.ts';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../emulators/shared/server.ts';

const REGION = EMULATOR_TOPOLOGY.region;
const VPC = EMULATOR_TOPOLOGY.vpcId;
const [SYS, CUS] = EMULATOR_TOPOLOGY.tables;
const TAG = { key: 'routesync-cluster', value: 'e2e' };

// Loosely shaped JSON straight off the wire: the assertions below check the fields.
// biome-ignore lint/suspicious/noExplicitAny: wire responses are asserted field by field
type Json = any;

let emu: RunningEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(opts: StartOptions = {}): Promise<RunningEmulator> {
  emu = await startEmulator(createAliyunEmulator, { profile: 'fast', timeScale: 50, instanceTag: TAG, ...opts });
  return emu;
}

function client(
  e: RunningEmulator,
  apiVersion: string,
  key = 'ak-e2e',
): { call(action: string, params?: Record<string, unknown>): Promise<Json> } {
  const c = new RPCClient({ endpoint: e.url, apiVersion, accessKeyId: key, accessKeySecret: 'secret' });
  return {
    call: (action, params = {}) => c.request<Json>(action, { RegionId: REGION, ...params }, { method: 'POST' }),
  };
}
const vpc = (e: RunningEmulator, key?: string) => client(e, '2016-04-28', key);
const ecs = (e: RunningEmulator) => client(e, '2014-05-26');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  throw new Error('expected the call to fail');
}

async function admin(e: RunningEmulator, method: string, path: string, body?: unknown): Promise<Json> {
  const r = await fetch(`${e.url}/_emulator/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return r.json();
}

async function instances(e: RunningEmulator, count: number, tags?: Record<string, string>): Promise<string[]> {
  const r = await admin(e, 'POST', 'instances', { count, ...(tags ? { tags } : {}) });
  return r.instances.map((i: Json) => i.id);
}

async function entry(e: RunningEmulator, table: string, dest: string): Promise<Json | undefined> {
  const r = await vpc(e).call('DescribeRouteEntryList', { RouteTableId: table, DestinationCidrBlock: dest });
  return r.RouteEntrys.RouteEntry[0];
}

async function until(pred: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition never held');
}

describe('aliyun emulator through @alicloud/pop-core', () => {
  it('describes the VPC and its vRouter route tables with the real field names', async () => {
    const e = await start();
    const vpcs = await vpc(e).call('DescribeVpcs', { VpcId: VPC });
    expect(vpcs.Vpcs.Vpc[0].VpcId).toBe(VPC);
    expect(vpcs.Vpcs.Vpc[0].RouterTableIds.RouterTableIds).toEqual([SYS, CUS]);
    const tables = await vpc(e).call('DescribeRouteTableList', { VpcId: VPC, RouterType: 'VRouter' });
    expect(tables.TotalCount).toBe(2);
    expect(tables.RouterTableList.RouterTableListType.map((t: Json) => [t.RouteTableId, t.RouteTableType])).toEqual([
      [SYS, 'System'],
      [CUS, 'Custom'],
    ]);
    expect(typeof tables.RequestId).toBe('string');
    const other = await vpc(e).call('DescribeRouteTableList', { VpcId: 'vpc-nothere' });
    expect(other.TotalCount).toBe(0);
  });

  it('pages DescribeInstances by NextToken and by PageNumber, filtered by VPC and tag', async () => {
    const e = await start();
    const ids = await instances(e, 25);
    await instances(e, 4, { 'routesync-cluster': 'other' });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await ecs(e).call('DescribeInstances', {
        VpcId: VPC,
        Tag: [{ Key: TAG.key, Value: TAG.value }],
        MaxResults: 10,
        ...(token ? { NextToken: token } : {}),
      });
      pages++;
      for (const i of r.Instances.Instance) {
        expect(i.Status).toBe('Running');
        expect(i.VpcAttributes.PrivateIpAddress.IpAddress[0]).toMatch(/^192\.168\./);
        expect(i.Tags.Tag).toContainEqual({ TagKey: TAG.key, TagValue: TAG.value });
        seen.push(i.InstanceId);
      }
      token = r.NextToken || undefined;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());

    const byNumber = await ecs(e).call('DescribeInstances', { PageNumber: 3, PageSize: 10 });
    expect(byNumber.TotalCount).toBe(29);
    expect(byNumber.Instances.Instance).toHaveLength(9);
    expect(await code(ecs(e).call('DescribeInstances', { NextToken: 'garbage!', MaxResults: 10 }))).toBe(
      'InvalidParameter',
    );
  });

  it('pages DescribeRouteEntryList and filters by type, destination and next hop', async () => {
    const e = await start();
    const [vm] = await instances(e, 1);
    for (let i = 0; i < 25; i++)
      await admin(e, 'POST', 'routes', { table: SYS, destination: `10.9.${i}.0/24`, target: vm });
    const all: Json[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await vpc(e).call('DescribeRouteEntryList', {
        RouteTableId: SYS,
        MaxResult: 10,
        ...(token ? { NextToken: token } : {}),
      });
      pages++;
      all.push(...r.RouteEntrys.RouteEntry);
      token = r.NextToken || undefined;
    } while (token);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(all.filter((x) => x.Type === 'System').map((x) => x.NextHops.NextHop[0].NextHopType)).toContain('local');
    expect(all.filter((x) => x.Type === 'Custom')).toHaveLength(25);
    const custom = await vpc(e).call('DescribeRouteEntryList', {
      RouteTableId: SYS,
      RouteEntryType: 'Custom',
      MaxResult: 100,
    });
    expect(custom.RouteEntrys.RouteEntry).toHaveLength(25);
    expect(custom.NextToken).toBe('');
    const one = await entry(e, SYS, '10.9.7.0/24');
    expect(one.NextHops.NextHop[0]).toMatchObject({ NextHopType: 'Instance', NextHopId: vm, Enabled: 1 });
    const byHop = await vpc(e).call('DescribeRouteEntryList', {
      RouteTableId: SYS,
      NextHopType: 'Instance',
      NextHopId: vm,
      MaxResult: 100,
    });
    expect(byHop.RouteEntrys.RouteEntry).toHaveLength(25);
    const listed = await vpc(e).call('DescribeRouteEntryList', {
      RouteTableId: SYS,
      DestCidrBlockList: ['10.9.1.0/24', '10.9.2.0/24'],
    });
    expect(listed.RouteEntrys.RouteEntry.map((x: Json) => x.DestinationCidrBlock)).toEqual([
      '10.9.1.0/24',
      '10.9.2.0/24',
    ]);
  });

  it('creates an entry Pending that turns Available, refuses a duplicate, deletes it and reports a missing one', async () => {
    // Slowed time so the Pending/Deleting states (40-100 ms emulated) last long enough to be read.
    const e = await start({ timeScale: 0.2 });
    const [vm] = await instances(e, 1);
    const created = await vpc(e).call('CreateRouteEntry', {
      RouteTableId: CUS,
      DestinationCidrBlock: '10.1.0.0/24',
      NextHopType: 'Instance',
      NextHopId: vm,
      RouteEntryName: 'n1',
      Description: 'd1',
    });
    expect(created.RouteEntryId).toMatch(/^rte-/);
    expect((await entry(e, CUS, '10.1.0.0/24')).Status).toBe('Pending');
    await until(async () => (await entry(e, CUS, '10.1.0.0/24')).Status === 'Available');
    expect(await entry(e, CUS, '10.1.0.0/24')).toMatchObject({
      RouteEntryName: 'n1',
      Description: 'd1',
      Type: 'Custom',
    });

    expect(
      await code(
        vpc(e).call('CreateRouteEntry', { RouteTableId: CUS, DestinationCidrBlock: '10.1.0.0/24', NextHopId: vm }),
      ),
    ).toBe('InvalidCIDRBlock.Duplicate');

    await vpc(e).call('DeleteRouteEntry', { RouteTableId: CUS, DestinationCidrBlock: '10.1.0.0/24', NextHopId: vm });
    expect((await entry(e, CUS, '10.1.0.0/24'))?.Status).toBe('Deleting');
    await until(async () => (await entry(e, CUS, '10.1.0.0/24')) === undefined);
    expect(
      await code(vpc(e).call('DeleteRouteEntry', { RouteTableId: CUS, DestinationCidrBlock: '10.1.0.0/24' })),
    ).toBe('InvalidRouteEntry.NotFound');
    expect(await code(vpc(e).call('DeleteRouteEntry', { RouteEntryId: created.RouteEntryId }))).toBe(
      'InvalidRouteEntryId.NotFound',
    );
  });

  it('runs one route task at a time per table: TaskConflict, then IncorrectRouteEntryStatus while entries settle', async () => {
    // Realistic profile at real time: the task window is 1 s and entries settle after 2-5 s.
    const e = await start({ profile: 'realistic', timeScale: 1 });
    const vms = await instances(e, 3);
    const create = (i: number) =>
      vpc(e).call('CreateRouteEntry', { RouteTableId: SYS, DestinationCidrBlock: `10.2.${i}.0/24`, NextHopId: vms[i] });
    const both = await Promise.allSettled([create(0), create(1)]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason.code).toBe('TaskConflict');
    expect(rejected.reason.data.Message).toMatch(/too frequent/);
    // The other table of the VPC may not start a batch task meanwhile either.
    expect(
      await code(
        vpc(e).call('CreateRouteEntries', {
          RouteEntries: [{ RouteTableId: CUS, DstCidrBlock: '10.3.0.0/24', NextHop: vms[2] }],
        }),
      ),
    ).toBe('OperationConflict');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await code(create(2))).toBe('IncorrectRouteEntryStatus');
  });

  it('enforces the per-table quota with QuotaExceeded, and reads it through Quota Center GetProductQuota', async () => {
    const e = await start({ routeQuota: 77 });
    const quotas = client(e, '2020-05-10');
    const q = await quotas.call('GetProductQuota', {
      ProductCode: 'vpc',
      QuotaActionCode: 'vpc_quota_route_entrys_num',
      Dimensions: [
        { Key: 'regionId', Value: REGION },
        { Key: 'routeTableId', Value: CUS },
      ],
    });
    expect(q.Quota).toMatchObject({ QuotaActionCode: 'vpc_quota_route_entrys_num', TotalQuota: 77, TotalUsage: 0 });

    const vms = await instances(e, 2);
    await admin(e, 'POST', 'quota', { table: CUS, limit: 1 });
    await vpc(e).call('CreateRouteEntry', {
      RouteTableId: CUS,
      DestinationCidrBlock: '10.4.0.0/24',
      NextHopId: vms[0],
    });
    const err = await vpc(e)
      .call('CreateRouteEntry', { RouteTableId: CUS, DestinationCidrBlock: '10.4.1.0/24', NextHopId: vms[1] })
      .catch((x: Json) => x);
    expect(err.code).toBe('QuotaExceeded');
    expect(err.data.Message).toBe('Route entry quota exceeded in this route table.');
    const after = await quotas.call('GetProductQuota', {
      ProductCode: 'vpc',
      QuotaActionCode: 'vpc_quota_route_entrys_num',
      Dimensions: [{ Key: 'routeTableId', Value: CUS }],
    });
    expect(after.Quota).toMatchObject({ TotalQuota: 1, TotalUsage: 1 });
  });

  it('batches creates and deletes with per-entry results', async () => {
    const e = await start();
    const vms = await instances(e, 3);
    await admin(e, 'POST', 'routes', { table: SYS, destination: '10.5.0.0/24', nextHop: 'vpn-other' });
    const r = await vpc(e).call('CreateRouteEntries', {
      RouteEntries: [
        { RouteTableId: SYS, DstCidrBlock: '10.5.0.0/24', NextHop: vms[0], NextHopType: 'Instance' },
        {
          RouteTableId: SYS,
          DstCidrBlock: '10.5.1.0/24',
          NextHop: vms[1],
          NextHopType: 'Instance',
          Name: 'a',
          Description: 'b',
        },
        { RouteTableId: SYS, DstCidrBlock: '10.5.2.0/24', NextHop: 'i-doesnotexist', NextHopType: 'Instance' },
        { RouteTableId: SYS, DstCidrBlock: '10.5.3.0/24', NextHop: vms[2], NextHopType: 'Instance' },
      ],
    });
    expect(r.SuccessCount).toBe(2);
    expect(r.FailedCount).toBe(2);
    expect(r.RouteEntryIds).toHaveLength(2);
    expect(r.FailedRouteEntries.map((f: Json) => [f.DstCidrBlock, f.FailedCode])).toEqual([
      ['10.5.0.0/24', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE'],
      ['10.5.2.0/24', 'InvalidNextHop.NotFound'],
    ]);
    expect(await entry(e, SYS, '10.5.1.0/24')).toMatchObject({ RouteEntryName: 'a', Description: 'b' });

    await until(async () => (await entry(e, SYS, '10.5.3.0/24')).Status === 'Available');
    const d = await vpc(e).call('DeleteRouteEntries', {
      RouteEntries: [
        { RouteTableId: SYS, DstCidrBlock: '10.5.1.0/24', NextHop: vms[1] },
        { RouteTableId: SYS, RouteEntryId: r.RouteEntryIds[1] },
        { RouteTableId: SYS, DstCidrBlock: '10.5.9.0/24', NextHop: vms[1] },
      ],
    });
    expect(d.SuccessCount).toBe(2);
    expect(d.FailedRouteEntries).toEqual([
      {
        DstCidrBlock: '10.5.9.0/24',
        NextHop: vms[1],
        FailedCode: 'VPC_ROUTER_ENTRY_NOT_EXIST',
        FailedMessage: expect.any(String),
      },
    ]);

    const tooMany = Array.from({ length: 51 }, (_, i) => ({
      RouteTableId: SYS,
      DstCidrBlock: `10.6.${i}.0/24`,
      NextHop: vms[0],
    }));
    expect(await code(vpc(e).call('CreateRouteEntries', { RouteEntries: tooMany }))).toBe('InvalidParameter');
  });

  it('moves a next hop in place with ModifyRouteEntry', async () => {
    const e = await start({ timeScale: 0.2 });
    const vms = await instances(e, 2);
    await admin(e, 'POST', 'routes', { table: SYS, destination: '10.7.0.0/24', target: vms[0] });
    const id = (await entry(e, SYS, '10.7.0.0/24')).RouteEntryId;
    await vpc(e).call('ModifyRouteEntry', { RouteEntryId: id, NewNextHopType: 'Instance', NewNextHopId: vms[1] });
    expect((await entry(e, SYS, '10.7.0.0/24')).Status).toBe('Modifying');
    await until(async () => (await entry(e, SYS, '10.7.0.0/24')).Status === 'Available');
    expect((await entry(e, SYS, '10.7.0.0/24')).NextHops.NextHop[0].NextHopId).toBe(vms[1]);
    expect(await code(vpc(e).call('ModifyRouteEntry', { RouteEntryId: id, NewNextHopId: vms[1] }))).toBe(
      'OperationDenied.NextHopNotChanged',
    );
  });

  it('throttles per main account, per API, per 60 s window, and plays injected faults in the wire format', async () => {
    const e = await start({ profile: 'realistic', timeScale: 1 });
    // ModifyRouteEntry: 300 per 60 s. A call the API refuses for its parameters still counts.
    const calls = Array.from({ length: 310 }, () => code(vpc(e).call('ModifyRouteEntry', {})));
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'Throttling.User').length).toBe(10);
    expect(outcomes.filter((o) => o !== 'Throttling.User').length).toBe(300);
    // Another key of the same main account draws on the same window; another account, and another API, do not.
    expect(await code(vpc(e, 'ak-other').call('ModifyRouteEntry', {}))).toBe('Throttling.User');
    expect(await code(vpc(e, 'ak-x@another-account').call('ModifyRouteEntry', {}))).toBe('MissingParameter');
    await vpc(e, 'ak-other').call('DescribeRouteEntryList', { RouteTableId: SYS });

    await admin(e, 'POST', 'faults', { action: 'DescribeVpcs', rate: 1, error: 'throttle', count: 1 });
    const err = await vpc(e, 'ak-other')
      .call('DescribeVpcs')
      .catch((x: Json) => x);
    expect(err.code).toBe('Throttling');
    expect(err.name).toBe('ThrottlingError');
    await vpc(e, 'ak-other').call('DescribeVpcs');
    await admin(e, 'POST', 'faults', { action: 'DescribeVpcs', rate: 1, error: 'TaskConflict', count: 1 });
    expect(await code(vpc(e, 'ak-other').call('DescribeVpcs'))).toBe('TaskConflict');

    const counted = await admin(e, 'GET', 'requests');
    expect(counted.byClient['ak-e2e'].ModifyRouteEntry['Throttling.User']).toBe(10);
    expect(counted.byClient['ak-other'].DescribeVpcs.Throttling).toBe(1);
  });

  it('answers malformed requests with the API validation errors', async () => {
    const e = await start();
    const [vm] = await instances(e, 1);
    expect(await code(vpc(e).call('DescribeRouteEntryList', {}))).toBe('MissingParameter');
    expect(
      await code(
        vpc(e).call('CreateRouteEntry', { RouteTableId: SYS, DestinationCidrBlock: '10.0.0.300/24', NextHopId: vm }),
      ),
    ).toBe('InvalidCidrBlock.Malformed');
    expect(
      await code(
        vpc(e).call('CreateRouteEntry', { RouteTableId: SYS, DestinationCidrBlock: '10.0.0.1/8', NextHopId: vm }),
      ),
    ).toBe('InvalidCidrBlock.Malformed');
    expect(await code(vpc(e).call('CreateRouteEntry', { RouteTableId: SYS, NextHopId: vm }))).toBe('MissingParameter');
    // Inside a vSwitch of the VPC, or inside 100.64.0.0/10: refused by the VPC.
    expect(
      await code(
        vpc(e).call('CreateRouteEntry', { RouteTableId: SYS, DestinationCidrBlock: '192.168.1.0/24', NextHopId: vm }),
      ),
    ).toBe('InvalidCidrBlock');
    expect(
      await code(
        vpc(e).call('CreateRouteEntry', { RouteTableId: SYS, DestinationCidrBlock: '100.64.1.0/24', NextHopId: vm }),
      ),
    ).toBe('InvalidCidrBlock');
    expect(
      await code(
        vpc(e).call('CreateRouteEntry', {
          RouteTableId: 'vtb-nothere',
          DestinationCidrBlock: '10.0.0.0/24',
          NextHopId: vm,
        }),
      ),
    ).toBe('InvalidRouteTableId.NotFound');
    expect(
      await code(vpc(e).call('CreateRouteEntries', { RouteEntries: [{ DstCidrBlock: '10.0.0.0/24', NextHop: vm }] })),
    ).toBe('MissingParam.RouteTableId');
    expect(
      await code(vpc(e).call('DeleteRouteEntry', { RouteTableId: SYS, DestinationCidrBlock: '192.168.0.0/18' })),
    ).toBe('OperationDenied');
    expect(await code(vpc(e).call('NoSuchAction'))).toBe('InvalidAction.NotFound');
    expect(await code(client(e, '2099-01-01').call('DescribeVpcs'))).toBe('InvalidVersion');
    const noRegion = new RPCClient({
      endpoint: e.url,
      apiVersion: '2016-04-28',
      accessKeyId: 'k',
      accessKeySecret: 's',
    });
    expect(await code(noRegion.request('DescribeVpcs', {}, { method: 'POST' }))).toBe('MissingParameter');
  });

  it('exposes the shared admin state shape: system hops, foreign hops, blackholes of released VMs', async () => {
    const e = await start({ instances: 2 });
    const st0 = await admin(e, 'GET', 'state');
    const [a, b] = st0.instances.map((i: Json) => i.id);
    expect(st0.instances[0]).toMatchObject({
      state: 'running',
      tags: { [TAG.key]: TAG.value },
      zone: expect.stringMatching(/^cn-hangzhou-/),
    });
    await admin(e, 'POST', 'routes', { destination: '10.8.0.0/24', target: a, name: 'n', description: 'd' });
    await admin(e, 'POST', 'routes', { table: CUS, destination: '10.8.1.0/24', nextHop: 'vpn-1' });
    await admin(e, 'DELETE', `instances/${a}`);
    const st = await admin(e, 'GET', 'state');
    const sys = st.tables.find((t: Json) => t.id === SYS);
    expect(sys.quota).toBe(200);
    expect(sys.routes).toContainEqual({
      destination: '192.168.0.0/18',
      target: null,
      nextHop: 'local',
      state: 'active',
    });
    expect(sys.routes).toContainEqual({
      destination: '10.8.0.0/24',
      target: a,
      nextHop: a,
      state: 'blackhole',
      name: 'n',
      description: 'd',
    });
    expect(st.tables.find((t: Json) => t.id === CUS).routes).toContainEqual({
      destination: '10.8.1.0/24',
      target: null,
      nextHop: 'VpnGateway:vpn-1',
      state: 'active',
    });
    expect((await entry(e, SYS, '10.8.0.0/24')).NextHops.NextHop[0].Enabled).toBe(0);
    const listed = await ecs(e).call('DescribeInstances', { VpcId: VPC, MaxResults: 100, NextToken: '' });
    expect(listed.Instances.Instance.map((i: Json) => i.InstanceId)).toEqual([b]);
    expect((await admin(e, 'DELETE', 'routes', { destination: '10.8.0.0/24' })).deleted).toBe(true);
    const bad = await fetch(`${e.url}/_emulator/routes`, {
      method: 'POST',
      body: JSON.stringify({ destination: 'nope', target: b }),
    });
    expect(bad.status).toBe(400);
  });
});
