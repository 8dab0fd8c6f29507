// The AWS provider against moto_server, a third-party EC2 emulator: the same SDK calls must work on an
// implementation we did not write. moto has no blackhole emulation, so that case stays with our emulator.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  AssociateRouteTableCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor } from '../../providers/plugins.ts';
import { createAwsProvider } from '../../providers/aws/provider.ts';
import type { Change, CloudAdapter } from '../../providers/types.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';

const AMI = 'ami-03cf127a'; // one of moto's bundled default AMIs
const TAG = { key: 'routesync-cluster', value: 'moto' };
let moto: ChildProcess | undefined;
let url = '';
let ec2: EC2Client;
let vpcId = '';
let subnetTable = '';
let instances: string[] = [];
/** A tagged instance with a second ENI (device index 1), and its primary ENI. */
let multi = '';
let multiPrimary = '';
let provider: CloudAdapter;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(base: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/moto-api/`);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('moto_server did not come up within 20 s');
}

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDMOTO',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitUp(url, moto);
  ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'AKIDMOTO', secretAccessKey: 'secret' },
  });
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc?.VpcId as string;
  const subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.1.0/24' }))).Subnet
    ?.SubnetId as string;
  subnetTable = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable?.RouteTableId as string;
  await ec2.send(new AssociateRouteTableCommand({ RouteTableId: subnetTable, SubnetId: subnetId }));
  const tagged = await ec2.send(
    new RunInstancesCommand({
      ImageId: AMI,
      MinCount: 3,
      MaxCount: 3,
      SubnetId: subnetId,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: TAG.key, Value: TAG.value }] }],
    }),
  );
  instances = (tagged.Instances ?? []).map((i) => i.InstanceId as string).sort();
  await ec2.send(new RunInstancesCommand({ ImageId: AMI, MinCount: 1, MaxCount: 1, SubnetId: subnetId }));
  const homed = await ec2.send(
    new RunInstancesCommand({
      ImageId: AMI,
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnetId,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: TAG.key, Value: TAG.value }] }],
    }),
  );
  multi = homed.Instances?.[0]?.InstanceId as string;
  multiPrimary = homed.Instances?.[0]?.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0)
    ?.NetworkInterfaceId as string;
  const second = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }))).NetworkInterface
    ?.NetworkInterfaceId as string;
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: second, InstanceId: multi, DeviceIndex: 1 }));
  const config = validateConfig({
    cluster: 'moto',
    clusterCIDR: '172.16.0.0/16',
    provider: {
      type: 'aws',
      region: 'us-east-1',
      vpcId,
      endpoint: url,
      instanceFilter: `${TAG.key}=${TAG.value}`,
      routeQuota: 60,
    },
    store: { type: 'memory' },
  });
  provider = createAwsProvider(
    configFor('aws', config.provider),
    { cluster: 'moto', clusterCIDR: config.clusterCIDR, logger: silentLogger },
    { retry: { baseMs: 1, capMs: 5, attempts: 3 } },
  );
}, 60_000);

afterAll(async () => {
  await provider?.close();
  ec2?.destroy();
  if (moto && moto.exitCode === null) {
    const exited = new Promise((r) => moto?.once('exit', r));
    moto.kill('SIGTERM');
    await exited;
  }
});

const signal = () => AbortSignal.timeout(30_000);
const at = (n: number, target: string, op: Change['op'] = 'create'): Change => ({
  op,
  table: subnetTable,
  destination: `172.16.${n}.0/24`,
  target,
  reason: 'moto',
});

describe('aws provider against moto_server', () => {
  it('lists the tagged instances of the VPC', async () => {
    const list = await provider.listInstances(signal());
    expect(list.map((i) => i.id).sort()).toEqual([...instances, multi].sort());
    for (const i of list) {
      expect(i.state).toBe('running');
      expect(i.privateIp).toMatch(/^10\.1\.1\.\d+$/);
    }
  });

  it('looks instances up by id, a never-heard-of id as not found (EC2 refuses the batch with InvalidInstanceID.NotFound)', async () => {
    const [a, b] = instances as [string, string];
    const unknown = 'i-0123456789abcdef0';
    const got = await provider.lookupInstances([a, unknown, b], signal());
    expect(Object.fromEntries(got)).toEqual({ [a]: 'running', [b]: 'running', [unknown]: 'notFound' });
  });

  it('discovers the main and the subnet-associated tables of the VPC', async () => {
    const tables = await provider.routeTables(signal());
    expect(tables.map((t) => t.id)).toContain(subnetTable);
    expect(tables).toHaveLength(2);
    for (const t of tables) expect(t.vpcId).toBe(vpcId);
  });

  it('creates, repeats, replaces and deletes routes', async () => {
    const [a, b, c] = instances as [string, string, string];
    const creates = [at(1, a), at(2, b)];
    expect((await provider.apply({ id: subnetTable }, creates, { signal: signal() })).map((r) => r.outcome)).toEqual([
      'applied',
      'applied',
    ]);
    // A repeat: EC2 answers RouteAlreadyExists (then alreadyDone); moto takes a repeated CreateRoute by
    // NetworkInterfaceId as a success. Either way it is done, and the table keeps one route per destination.
    for (const r of await provider.apply({ id: subnetTable }, creates, { signal: signal() }))
      expect(['alreadyDone', 'applied']).toContain(r.outcome);
    expect((await provider.listRoutes({ id: subnetTable }, signal())).filter((r) => !r.system)).toHaveLength(2);
    // Source/dest check is off on each primary ENI (moto's instance attribute does not follow its ENI's).
    const src = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [a, b] }],
      }),
    );
    const primaries = (src.NetworkInterfaces ?? []).filter((n) => n.Attachment?.DeviceIndex === 0);
    expect(primaries.map((n) => n.SourceDestCheck)).toEqual([false, false]);

    const replace = { ...at(1, c, 'replace'), previousTarget: a };
    expect((await provider.apply({ id: subnetTable }, [replace], { signal: signal() })).map((r) => r.outcome)).toEqual([
      'applied',
    ]);
    let routes = await provider.listRoutes({ id: subnetTable }, signal());
    expect(routes.find((r) => r.destination === '172.16.1.0/24')).toMatchObject({
      target: c,
      state: 'active',
      system: false,
      marked: null,
    });
    expect(routes.find((r) => r.nextHop === 'local')).toMatchObject({ system: true });

    const del = at(2, b, 'delete');
    expect((await provider.apply({ id: subnetTable }, [del], { signal: signal() })).map((r) => r.outcome)).toEqual([
      'applied',
    ]);
    expect((await provider.apply({ id: subnetTable }, [del], { signal: signal() })).map((r) => r.outcome)).toEqual([
      'alreadyDone',
    ]);
    routes = await provider.listRoutes({ id: subnetTable }, signal());
    expect(routes.filter((r) => !r.system).map((r) => [r.destination, r.target])).toEqual([['172.16.1.0/24', c]]);
  });

  it('routes a multi-ENI instance to its primary ENI and turns source/dest check off on that ENI only', async () => {
    const [a] = instances as [string];
    // A provider that never listed (as with a Kubernetes inventory) finds the primary ENI itself.
    const config = validateConfig({
      cluster: 'moto',
      clusterCIDR: '172.16.0.0/16',
      provider: { type: 'aws', region: 'us-east-1', vpcId, endpoint: url, instanceFilter: `${TAG.key}=${TAG.value}` },
      store: { type: 'memory' },
    });
    const fresh = createAwsProvider(
      configFor('aws', config.provider),
      { cluster: 'moto', clusterCIDR: config.clusterCIDR, logger: silentLogger },
      { retry: { baseMs: 1, capMs: 5, attempts: 3 } },
    );
    try {
      expect(
        (await fresh.apply({ id: subnetTable }, [at(7, multi), at(8, a)], { signal: signal() })).map((r) => r.outcome),
      ).toEqual(['applied', 'applied']);
      const raw = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [subnetTable] }));
      const r7 = raw.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '172.16.7.0/24');
      expect(r7?.NetworkInterfaceId).toBe(multiPrimary);
      const nics = await ec2.send(
        new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [multi] }] }),
      );
      expect(
        (nics.NetworkInterfaces ?? [])
          .map((n) => [n.Attachment?.DeviceIndex, n.SourceDestCheck])
          .sort((x, y) => Number(x[0]) - Number(y[0])),
      ).toEqual([
        [0, false],
        [1, true],
      ]);
      // moto names only the ENI on such a route: the provider attributes it to the instance all the same.
      const routes = await fresh.listRoutes({ id: subnetTable }, signal());
      expect(routes.find((r) => r.destination === '172.16.7.0/24')).toMatchObject({
        target: multi,
        state: 'active',
        system: false,
      });
      expect(routes.find((r) => r.destination === '172.16.8.0/24')?.target).toBe(a);
      const del = [at(7, multi, 'delete'), at(8, a, 'delete')];
      expect((await fresh.apply({ id: subnetTable }, del, { signal: signal() })).map((r) => r.outcome)).toEqual([
        'applied',
        'applied',
      ]);
    } finally {
      await fresh.close();
    }
  });

  it('reads the route quota from Service Quotas on moto (its bundled AWS default) over the configured one', async () => {
    const q = await provider.quota({ id: subnetTable }, signal());
    expect(q).toEqual({ limit: 50, used: 1, source: 'api', scope: 'table' });
  });
});
