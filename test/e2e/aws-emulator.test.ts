// The AWS emulator driven through the official SDKs (client-ec2, client-service-quotas) and the aws CLI:
// nothing here hand-builds an EC2 request; only /_emulator/ admin calls are plain fetches.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsEmulator, EMULATOR_TOPOLOGY } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../emulators/shared/server.ts';

const run = promisify(execFile);
const [MAIN, SUBNET_RT] = EMULATOR_TOPOLOGY.tables as [string, string];
const VPC = EMULATOR_TOPOLOGY.vpcId as string;
const SUBNET = EMULATOR_TOPOLOGY.subnets[0] as string;
const running: RunningEmulator[] = [];

async function start(opts: StartOptions = {}) {
  const emu = await startEmulator(createAwsEmulator, { profile: 'fast', timeScale: 100, seed: 7, ...opts });
  running.push(emu);
  const client = (key = 'AKIDTEST') =>
    new EC2Client({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: key, secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${emu.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: admin JSON is loosely shaped; assertions check the fields
    return { status: r.status, json: (await r.json()) as any };
  };
  return { emu, ec2: client(), client, admin };
}

afterEach(async () => {
  while (running.length) await running.pop()?.close();
});

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const x = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: x.name, status: x.$metadata?.httpStatusCode, message: x.message };
  }
  throw new Error('expected the call to fail');
}

function routesOf(t: RouteTable | undefined) {
  return (t?.Routes ?? []).map((r) => ({
    dest: r.DestinationCidrBlock,
    instance: r.InstanceId,
    gw: r.GatewayId,
    state: r.State,
    origin: r.Origin,
  }));
}

describe('aws emulator through @aws-sdk/client-ec2', () => {
  it('has one VPC with a main and a subnet-associated table, each with the local route', async () => {
    const { ec2 } = await start();
    const out = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [VPC] }] }));
    expect(out.RouteTables?.map((t) => t.RouteTableId)).toEqual([MAIN, SUBNET_RT]);
    for (const t of out.RouteTables ?? []) {
      expect(routesOf(t)).toEqual([
        { dest: '10.0.0.0/16', instance: undefined, gw: 'local', state: 'active', origin: 'CreateRouteTable' },
      ]);
    }
    const main = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.main', Values: ['true'] }] }),
    );
    expect(main.RouteTables?.map((t) => t.RouteTableId)).toEqual([MAIN]);
    const bySubnet = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [SUBNET] }] }),
    );
    expect(bySubnet.RouteTables?.map((t) => t.RouteTableId)).toEqual([SUBNET_RT]);
    const other = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: ['vpc-other'] }] }),
    );
    expect(other.RouteTables).toEqual([]);
  });

  it('lists instances across pages with tag, state and vpc filters', async () => {
    const { ec2, admin } = await start({ instances: 12 });
    await admin('POST', 'instances', { count: 3, tags: { other: 'x' } });
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'tag:routesync-cluster', Values: ['demo'] }],
          MaxResults: 5,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      pages++;
      for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) ids.push(i.InstanceId as string);
      token = out.NextToken;
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(12);

    const tagKey = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag-key', Values: ['other'] }] }));
    expect(tagKey.Reservations?.length).toBe(3);
    const inst = tagKey.Reservations?.[0]?.Instances?.[0];
    expect(inst?.State).toEqual({ Code: 16, Name: 'running' });
    expect(inst?.PrivateIpAddress).toMatch(/^10\.0\./);
    expect(inst?.Placement?.AvailabilityZone).toMatch(/^us-east-1[abc]$/);
    expect(inst?.VpcId).toBe(VPC);

    await admin('DELETE', `instances/${ids[0]}`);
    const terminated = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['terminated'] }] }),
    );
    expect(terminated.Reservations?.flatMap((r) => r.Instances?.map((i) => [i.InstanceId, i.State?.Code]))).toEqual([
      [ids[0], 48],
    ]);

    const bad = await errorOf(ec2.send(new DescribeInstancesCommand({ NextToken: 'not-a-token' })));
    expect(bad.name).toBe('InvalidParameterValue');
    const missing = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-doesnotexist'] })));
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
  });

  it('creates, rejects a duplicate, replaces, deletes and rejects a missing delete', async () => {
    const { ec2, admin } = await start({ instances: 2 });
    const [a, b] = (await admin('GET', 'state')).json.instances.map((i: { id: string }) => i.id);
    const created = await ec2.send(
      new CreateRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '172.16.1.0/24', InstanceId: a }),
    );
    expect(created.Return).toBe(true);
    expect(created.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const dup = await errorOf(
      ec2.send(
        new CreateRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '172.16.1.0/24', InstanceId: b }),
      ),
    );
    expect(dup).toMatchObject({ name: 'RouteAlreadyExists', status: 400 });

    let t = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [SUBNET_RT] }));
    const route = t.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '172.16.1.0/24');
    expect(route).toMatchObject({
      InstanceId: a,
      InstanceOwnerId: '123456789012',
      Origin: 'CreateRoute',
      State: 'active',
    });
    expect(route?.NetworkInterfaceId).toMatch(/^eni-/);

    await ec2.send(
      new ReplaceRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '172.16.1.0/24', InstanceId: b }),
    );
    t = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [{ Name: 'route.destination-cidr-block', Values: ['172.16.1.0/24'] }],
      }),
    );
    expect(t.RouteTables?.map((x) => x.RouteTableId)).toEqual([SUBNET_RT]);
    expect(t.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '172.16.1.0/24')?.InstanceId).toBe(b);

    const replaceMissing = await errorOf(
      ec2.send(new ReplaceRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.9.0/24', InstanceId: a })),
    );
    expect(replaceMissing.name).toBe('InvalidParameterValue');
    expect(replaceMissing.message).toMatch(/no route defined/);

    await ec2.send(new DeleteRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '172.16.1.0/24' }));
    const again = await errorOf(
      ec2.send(new DeleteRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '172.16.1.0/24' })),
    );
    expect(again).toMatchObject({ name: 'InvalidRoute.NotFound', status: 400 });
    const local = await errorOf(
      ec2.send(new DeleteRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '10.0.0.0/16' })),
    );
    expect(local.name).toBe('InvalidParameterValue');
    const noTable = await errorOf(
      ec2.send(
        new CreateRouteCommand({ RouteTableId: 'rtb-nope', DestinationCidrBlock: '172.16.2.0/24', InstanceId: a }),
      ),
    );
    expect(noTable.name).toBe('InvalidRouteTableID.NotFound');
    const noInst = await errorOf(
      ec2.send(
        new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.2.0/24', InstanceId: 'i-0missing' }),
      ),
    );
    expect(noInst.name).toBe('InvalidInstanceID.NotFound');
  });

  it('answers malformed requests with EC2 validation errors', async () => {
    const { ec2, admin } = await start({ instances: 1 });
    const a = (await admin('GET', 'state')).json.instances[0].id;
    const badCidr = await errorOf(
      ec2.send(new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '300.1.2.0/24', InstanceId: a })),
    );
    expect(badCidr).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(badCidr.message).toMatch(/destinationCidrBlock/);
    const noDest = await errorOf(ec2.send(new CreateRouteCommand({ RouteTableId: MAIN, InstanceId: a } as never)));
    expect(noDest).toMatchObject({ name: 'MissingParameter', status: 400 });
    const noTarget = await errorOf(
      ec2.send(new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.0.0/24' })),
    );
    expect(noTarget.name).toBe('MissingParameter');
    const badFilter = await errorOf(
      ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })),
    );
    expect(badFilter.name).toBe('InvalidParameterValue');
    const badMax = await errorOf(ec2.send(new DescribeRouteTablesCommand({ MaxResults: 1 })));
    expect(badMax.name).toBe('InvalidParameterValue');
    // the emulator keeps serving after bad input
    expect((await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables?.length).toBe(2);
  });

  it('turns a route to a terminated instance into a blackhole', async () => {
    const { ec2, admin } = await start({ instances: 2 });
    const [a] = (await admin('GET', 'state')).json.instances.map((i: { id: string }) => i.id);
    await ec2.send(
      new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.3.0/24', InstanceId: a }),
    );
    expect((await admin('DELETE', `instances/${a}`)).status).toBe(200);
    const out = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.state', Values: ['blackhole'] }] }),
    );
    expect(out.RouteTables?.map((t) => t.RouteTableId)).toEqual([MAIN]);
    // The primary ENI went with the instance: EC2 then names the ENI alone (hashicorp/terraform#6076).
    const eni = `eni-${a.slice(2)}`;
    const hole = out.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '172.16.3.0/24');
    expect(hole).toMatchObject({ NetworkInterfaceId: eni, State: 'blackhole', Origin: 'CreateRoute' });
    expect(hole?.InstanceId).toBeUndefined();
    const state = (await admin('GET', 'state')).json;
    expect(state.tables[0].routes.find((r: { destination: string }) => r.destination === '172.16.3.0/24')).toEqual({
      destination: '172.16.3.0/24',
      target: null,
      nextHop: eni,
      networkInterfaceId: eni,
      origin: 'CreateRoute',
      state: 'blackhole',
    });
    const intoDead = await errorOf(
      ec2.send(new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.4.0/24', InstanceId: a })),
    );
    expect(intoDead.name).toBe('IncorrectInstanceState');
  });

  it('enforces the per-table route quota with RouteLimitExceeded; the local route does not count', async () => {
    const { ec2, admin } = await start({ instances: 6, routeQuota: 3 });
    // Instances of one ENI (every third has two, and refuses an InstanceId target).
    const ids: string[] = (await admin('GET', 'state')).json.instances
      .filter((i: { networkInterfaces: unknown[] }) => i.networkInterfaces.length === 1)
      .map((i: { id: string }) => i.id);
    for (let n = 0; n < 3; n++)
      await ec2.send(
        new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: `172.16.${n}.0/24`, InstanceId: ids[n] }),
      );
    const over = await errorOf(
      ec2.send(
        new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.9.0/24', InstanceId: ids[3] }),
      ),
    );
    expect(over).toMatchObject({ name: 'RouteLimitExceeded', status: 400 });
    // the other table has its own quota
    await ec2.send(
      new CreateRouteCommand({ RouteTableId: SUBNET_RT, DestinationCidrBlock: '172.16.9.0/24', InstanceId: ids[3] }),
    );
    await admin('POST', 'quota', { table: MAIN, limit: 5 });
    await ec2.send(
      new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.9.0/24', InstanceId: ids[3] }),
    );
    const st = (await admin('GET', 'state')).json;
    expect(st.tables.map((t: { quota: number }) => t.quota)).toEqual([5, 3]);
  });

  it('throttles a burst with RequestLimitExceeded (503) from the token buckets of the realistic profile', async () => {
    // timeScale 1: EC2's refill (5 tokens/s for mutating calls) must not outrun the burst.
    const { ec2, admin } = await start({ profile: 'realistic', timeScale: 1, instances: 1, routeQuota: 1000 });
    const a = (await admin('GET', 'state')).json.instances[0].id;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, n) =>
        ec2.send(
          new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: `172.17.${n}.0/24`, InstanceId: a }),
        ),
      ),
    );
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    const ok = outcomes.length - rejected.length;
    expect(rejected.length).toBeGreaterThan(0);
    expect(ok).toBeGreaterThanOrEqual(50);
    for (const r of rejected)
      expect(r.reason).toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
    // non-mutating calls draw from their own bucket
    expect((await ec2.send(new DescribeRouteTablesCommand({}))).RouteTables?.length).toBe(2);
  });

  it('plays injected faults in the EC2 wire format and counts requests per access key', async () => {
    const { ec2, client, admin } = await start({ instances: 1 });
    await admin('POST', 'faults', { action: 'DescribeRouteTables', rate: 1, error: 'throttle', count: 1 });
    const t = await errorOf(ec2.send(new DescribeRouteTablesCommand({})));
    expect(t).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    await admin('POST', 'faults', { action: 'DescribeRouteTables', rate: 1, error: '5xx', count: 1 });
    expect(await errorOf(ec2.send(new DescribeRouteTablesCommand({})))).toMatchObject({
      name: 'InternalError',
      status: 500,
    });
    await admin('POST', 'faults', { action: 'CreateRoute', rate: 1, error: 'RouteLimitExceeded', count: 1 });
    const a = (await admin('GET', 'state')).json.instances[0].id;
    expect(
      (
        await errorOf(
          ec2.send(
            new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.0.0/24', InstanceId: a }),
          ),
        )
      ).name,
    ).toBe('RouteLimitExceeded');
    await client('AKIDOTHER').send(
      new ModifyInstanceAttributeCommand({ InstanceId: a, SourceDestCheck: { Value: false } }),
    );
    const snap = (await admin('GET', 'requests')).json;
    expect(snap.byClient.AKIDTEST.DescribeRouteTables).toEqual({ RequestLimitExceeded: 1, InternalError: 1 });
    expect(snap.byClient.AKIDOTHER.ModifyInstanceAttribute).toEqual({ ok: 1 });
    const inst = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [a] }));
    expect(inst.Reservations?.[0]?.Instances?.[0]?.SourceDestCheck).toBe(false);
  });

  it('answers GetServiceQuota for Routes per route table (L-93826ACB)', async () => {
    const { emu, admin } = await start({ routeQuota: 120 });
    const sq = new ServiceQuotasClient({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 's' },
      maxAttempts: 1,
    });
    const q = await sq.send(new GetServiceQuotaCommand({ ServiceCode: 'vpc', QuotaCode: 'L-93826ACB' }));
    expect(q.Quota).toMatchObject({ QuotaName: 'Routes per route table', Value: 120, ServiceCode: 'vpc' });
    await admin('POST', 'quota', { limit: 200 });
    expect(
      (await sq.send(new GetServiceQuotaCommand({ ServiceCode: 'vpc', QuotaCode: 'L-93826ACB' }))).Quota?.Value,
    ).toBe(200);
    const missing = await errorOf(sq.send(new GetServiceQuotaCommand({ ServiceCode: 'vpc', QuotaCode: 'L-NOPE' })));
    expect(missing.name).toBe('NoSuchResourceException');
    sq.destroy();
  });

  it('answers GetServiceQuota with NoSuchResourceException while the account has no applied value, and GetAWSDefaultServiceQuota with the default', async () => {
    const { emu, admin } = await start();
    const sq = new ServiceQuotasClient({
      region: 'us-east-1',
      endpoint: emu.url,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 's' },
      maxAttempts: 1,
    });
    const ask = { ServiceCode: 'vpc', QuotaCode: 'L-93826ACB' };
    expect(await errorOf(sq.send(new GetServiceQuotaCommand(ask)))).toMatchObject({
      name: 'NoSuchResourceException',
      status: 400,
    });
    const d = await sq.send(new GetAWSDefaultServiceQuotaCommand(ask));
    expect(d.Quota).toMatchObject({ QuotaName: 'Routes per route table', Value: 50 });
    // A quota increase applies a value: from then on GetServiceQuota answers it; the default stays.
    await admin('POST', 'quota', { limit: 300 });
    expect((await sq.send(new GetServiceQuotaCommand(ask))).Quota?.Value).toBe(300);
    expect((await sq.send(new GetAWSDefaultServiceQuotaCommand(ask))).Quota?.Value).toBe(50);
    sq.destroy();
  });

  it('gives an instance several ENIs: InstanceId targets are refused with InvalidInstanceID, its ENIs are routed to and checked one by one', async () => {
    const { ec2, admin } = await start();
    const [multi, single] = (
      await admin('POST', 'instances', { instances: [{ networkInterfaces: 2 }, { networkInterfaces: 1 }] })
    ).json.instances as Array<{ id: string; networkInterfaces: string[] }>;
    if (!multi || !single) throw new Error('no instances');
    const [primary, secondary] = multi.networkInterfaces as [string, string];
    expect(multi.networkInterfaces).toHaveLength(2);
    const byInstance = await errorOf(
      ec2.send(
        new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.1.0/24', InstanceId: multi.id }),
      ),
    );
    expect(byInstance).toMatchObject({ name: 'InvalidInstanceID', status: 400 });
    expect(byInstance.message).toMatch(/multiple interfaces attached to instance/);
    expect(
      await errorOf(
        ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: multi.id, SourceDestCheck: { Value: false } })),
      ),
    ).toMatchObject({ name: 'InvalidInstanceID' });

    // DescribeInstances lists each ENI with its device index; DescribeNetworkInterfaces filters by them.
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [multi.id] }));
    const nics = d.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces ?? [];
    expect(nics.map((n) => [n.NetworkInterfaceId, n.Attachment?.DeviceIndex])).toEqual([
      [primary, 0],
      [secondary, 1],
    ]);
    const found = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'attachment.instance-id', Values: [multi.id, single.id] },
          { Name: 'attachment.device-index', Values: ['0'] },
        ],
      }),
    );
    expect(found.NetworkInterfaces?.map((n) => [n.NetworkInterfaceId, n.Attachment?.InstanceId])).toEqual([
      [primary, multi.id],
      [`eni-${single.id.slice(2)}`, single.id],
    ]);

    await ec2.send(
      new CreateRouteCommand({
        RouteTableId: MAIN,
        DestinationCidrBlock: '172.16.1.0/24',
        NetworkInterfaceId: primary,
      }),
    );
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: primary, SourceDestCheck: { Value: false } }),
    );
    const t = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [MAIN] }));
    // Like EC2 (not moto): a route to an attached ENI answers both ids.
    expect(t.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '172.16.1.0/24')).toMatchObject({
      InstanceId: multi.id,
      NetworkInterfaceId: primary,
      State: 'active',
    });
    const after = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [primary, secondary] }));
    expect(after.NetworkInterfaces?.map((n) => n.SourceDestCheck)).toEqual([false, true]);
    const inst = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [multi.id] }));
    expect(inst.Reservations?.[0]?.Instances?.[0]?.SourceDestCheck).toBe(false);
    expect(
      await errorOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0000000000000dead'] }))),
    ).toMatchObject({ name: 'InvalidNetworkInterfaceID.NotFound' });

    // Terminated: the primary ENI is deleted, the secondary stays detached; the route is blackhole, ENI only.
    await admin('DELETE', `instances/${multi.id}`);
    const gone = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [MAIN] }));
    const hole = gone.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '172.16.1.0/24');
    expect(hole).toMatchObject({ NetworkInterfaceId: primary, State: 'blackhole' });
    expect(hole?.InstanceId).toBeUndefined();
    const left = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'network-interface-id', Values: [primary, secondary] }],
      }),
    );
    expect(left.NetworkInterfaces?.map((n) => [n.NetworkInterfaceId, n.Status, n.Attachment])).toEqual([
      [secondary, 'available', undefined],
    ]);
  });

  it('counts the IPv4 route quota as EC2 does: propagated and IPv6 routes apart, a prefix list as its max entries', async () => {
    const { ec2, admin } = await start({ instances: 1, routeQuota: 10 });
    const a = (await admin('GET', 'state')).json.instances[0].id;
    for (const body of [
      { destination: '192.168.10.0/24', nextHop: 'vgw-0abc', propagated: true },
      { destination: '2600:1f18::/64', nextHop: 'eigw-0abc' },
      { destination: 'pl-0123456789abcdef0', nextHop: 'tgw-0abc', maxEntries: 8 },
    ])
      expect((await admin('POST', 'routes', body)).status).toBe(201);
    const st = (await admin('GET', 'state')).json;
    expect(st.tables[0].used).toBe(8);
    const t = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [MAIN] }));
    const routes = t.RouteTables?.[0]?.Routes ?? [];
    expect(routes.find((r) => r.DestinationCidrBlock === '192.168.10.0/24')?.Origin).toBe('EnableVgwRoutePropagation');
    expect(routes.some((r) => r.DestinationIpv6CidrBlock === '2600:1f18::/64')).toBe(true);
    expect(routes.some((r) => r.DestinationPrefixListId === 'pl-0123456789abcdef0')).toBe(true);
    const pl = await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-0123456789abcdef0'] }));
    expect(pl.PrefixLists?.map((x) => [x.PrefixListId, x.MaxEntries, x.AddressFamily])).toEqual([
      ['pl-0123456789abcdef0', 8, 'IPv4'],
    ]);
    // 8 of 10 used: two more IPv4 routes fit, the third does not.
    for (const n of [1, 2])
      await ec2.send(
        new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: `172.16.${n}.0/24`, InstanceId: a }),
      );
    expect(
      await errorOf(
        ec2.send(new CreateRouteCommand({ RouteTableId: MAIN, DestinationCidrBlock: '172.16.3.0/24', InstanceId: a })),
      ),
    ).toMatchObject({ name: 'RouteLimitExceeded' });
  });

  it('keeps the admin state shape and rejects bad admin bodies', async () => {
    const { admin } = await start({ instances: 1 });
    expect((await admin('POST', 'routes', { destination: '192.168.0.0/24', nextHop: 'igw-0abc' })).status).toBe(201);
    expect(
      (await admin('POST', 'routes', { table: SUBNET_RT, destination: '192.168.1.0/24', nextHop: 'eni-0abc' })).status,
    ).toBe(201);
    expect((await admin('POST', 'routes', { destination: 'bad', nextHop: 'igw-1' })).status).toBe(400);
    expect((await admin('POST', 'routes', { destination: '192.168.2.0/24' })).status).toBe(400);
    expect(
      (await admin('POST', 'routes', { table: 'rtb-nope', destination: '192.168.2.0/24', nextHop: 'igw-1' })).status,
    ).toBe(404);
    expect((await admin('DELETE', 'routes', { table: SUBNET_RT, destination: '192.168.1.0/24' })).status).toBe(200);
    expect((await admin('DELETE', 'routes', { table: SUBNET_RT, destination: '192.168.1.0/24' })).status).toBe(404);
    expect((await admin('POST', 'quota', { limit: -1 })).status).toBe(400);
    const st = (await admin('GET', 'state')).json;
    expect(Object.keys(st.instances[0]).sort()).toEqual([
      'id',
      'name',
      'networkInterfaces',
      'privateIp',
      'state',
      'tags',
      'zone',
    ]);
    expect(st.tables[0].routes).toEqual([
      { destination: '10.0.0.0/16', target: null, nextHop: 'local', origin: 'CreateRouteTable', state: 'active' },
      { destination: '192.168.0.0/24', target: null, nextHop: 'igw-0abc', origin: 'CreateRoute', state: 'active' },
    ]);
  });
});

describe('aws CLI against the emulator', () => {
  it('describe-route-tables and create-route work with dummy credentials', async () => {
    const { emu, admin } = await start({ instances: 1 });
    const a = (await admin('GET', 'state')).json.instances[0].id;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      AWS_ACCESS_KEY_ID: 'AKIDCLI',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      // The CLI on this machine is v1 (no --no-cli-pager flag, no pager); AWS_PAGER covers a v2.
      AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };
    const aws = (...args: string[]) =>
      run('aws', ['ec2', ...args, '--endpoint-url', emu.url, '--region', 'us-east-1', '--output', 'json'], { env });
    await aws(
      'create-route',
      '--route-table-id',
      MAIN,
      '--destination-cidr-block',
      '172.16.5.0/24',
      '--instance-id',
      a,
    );
    const { stdout } = await aws('describe-route-tables', '--filters', `Name=vpc-id,Values=${VPC}`);
    const parsed = JSON.parse(stdout) as {
      RouteTables: Array<{
        RouteTableId: string;
        Routes: Array<{ DestinationCidrBlock: string; InstanceId?: string; State: string }>;
      }>;
    };
    expect(parsed.RouteTables.map((t) => t.RouteTableId)).toEqual([MAIN, SUBNET_RT]);
    expect(parsed.RouteTables[0]?.Routes).toContainEqual(
      expect.objectContaining({ DestinationCidrBlock: '172.16.5.0/24', InstanceId: a, State: 'active' }),
    );
    expect((await admin('GET', 'requests')).json.byClient.AKIDCLI.CreateRoute).toEqual({ ok: 1 });
  });
});
