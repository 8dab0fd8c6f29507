// The Aliyun emulator's state and the helpers its handlers share: the VPC (route tables and entries), the
// ECS inventory, the per-account rate windows, client tokens, and how entries, tables and instances render.
// Built once per emulator; the handler families (reads.ts, writes.ts) and the admin API (admin.ts) take it.
import { EmuInventory, type EmuInstance } from '../shared/inventory.ts';
import { drawMs, pickProfile } from '../shared/profile.ts';
import { AdminError, type EmulatorContext, type EmuRequest, type EmuResponse } from '../shared/types.ts';
import { PROFILES } from './profile.ts';
import { RateWindows } from './rate-windows.ts';
import { normaliseDestination, VpcState, type RouteEntry, type RouteTableState } from './state.ts';
import { errorResponse, type Params } from './wire.ts';

export const VPC_VERSION = '2016-04-28';
export const ECS_VERSION = '2014-05-26';
export const QUOTAS_VERSION = '2020-05-10';
export const ROUTE_QUOTA_ACTION = 'vpc_quota_route_entrys_num';

/** The fixed ids a config needs to point at this emulator (shape shared with the other clouds). */
export const EMULATOR_TOPOLOGY: {
  region: string;
  vpcId: string;
  project?: string;
  network?: string;
  tables: readonly [string, string];
} = {
  region: 'cn-hangzhou',
  vpcId: 'vpc-bp1emu00000000000001',
  tables: ['vtb-bp1emu0000000000sys01', 'vtb-bp1emu0000000000cus01'],
};

export const V_ROUTER_ID = 'vrt-bp1emu00000000000001';
export const ZONES = ['cn-hangzhou-h', 'cn-hangzhou-i', 'cn-hangzhou-j'] as const;
export const VSWITCHES = [
  { id: 'vsw-bp1emu00000000000001', cidr: '192.168.0.0/18', zone: ZONES[0] },
  { id: 'vsw-bp1emu00000000000002', cidr: '192.168.64.0/18', zone: ZONES[1] },
  { id: 'vsw-bp1emu00000000000003', cidr: '192.168.128.0/18', zone: ZONES[2] },
];

export type Handler = (p: Params, req: EmuRequest) => EmuResponse;

export const STATUS: Record<EmuInstance['state'], string> = {
  pending: 'Pending',
  running: 'Running',
  stopping: 'Stopping',
  stopped: 'Stopped',
  terminated: 'Deleted',
};

/** One emulator's state and shared helpers (what the handler families close over). */
export function aliyunWorld(ctx: EmulatorContext) {
  const profile = pickProfile(PROFILES, ctx.options.profile);
  const clock = ctx.clock;
  const defaultTags = {
    [(ctx.options.instanceTag ?? { key: 'routesync-cluster' }).key]: (ctx.options.instanceTag ?? { value: 'demo' })
      .value,
  };
  const inventory = new EmuInventory(
    { idFor: (n) => `i-bp1emu${n.toString(36).padStart(14, '0')}`, zones: ZONES, ipPrefix: '192.168' },
    () => clock.now(),
  );
  if (ctx.options.instances) inventory.add(ctx.options.instances, defaultTags);

  const vpc = new VpcState({
    vpcId: EMULATOR_TOPOLOGY.vpcId,
    vRouterId: V_ROUTER_ID,
    cidr: '192.168.0.0/16',
    vswitches: VSWITCHES,
    idBase: 'bp1emu',
  });
  const quota = ctx.options.routeQuota ?? profile.defaultRouteQuota;
  const [sysTable, cusTable] = EMULATOR_TOPOLOGY.tables;
  vpc.addTable(sysTable, '', 'System', quota, clock.now());
  vpc.addTable(cusTable, 'custom-1', 'Custom', quota, clock.now());

  const windows = new RateWindows(profile.perMinute, clock);
  const settleAt = () => clock.now() + Math.floor(drawMs(profile.settle, ctx.rng));
  const clientTokens = new Map<string, EmuResponse>();

  const instanceAlive = (id: string) => {
    const i = inventory.get(id);
    return i !== undefined && i.state !== 'terminated';
  };

  function table(p: Params, name = 'RouteTableId'): RouteTableState | EmuResponse {
    const id = p.get(name);
    if (!id)
      return errorResponse(
        'MissingParameter',
        `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
      );
    return vpc.tables.get(id) ?? errorResponse('InvalidRouteTableId.NotFound');
  }
  /**
   * The entry a single-entry call names: by RouteEntryId, or by RouteTableId + DestinationCidrBlock.
   * `missing` names the parameter the real API reports when neither is given.
   */
  function namedEntry(p: Params, missing: string): { entry: RouteEntry | undefined; byId: boolean } | EmuResponse {
    const id = p.get('RouteEntryId');
    if (id) return { entry: vpc.findById(id), byId: true };
    const t = table(p);
    if (!('entries' in t)) return t;
    const raw = p.get('DestinationCidrBlock');
    if (!raw)
      return errorResponse(
        'MissingParameter',
        `The input parameter "${missing}" that is mandatory for processing this request is not supplied.`,
      );
    const dest = normaliseDestination(raw);
    if (dest === null) return errorResponse('InvalidCidrBlock.Malformed');
    return { entry: t.entries.get(dest), byId: false };
  }

  /** One task per table: TaskConflict while one runs; IncorrectRouteEntryStatus while entries settle. */
  function busy(t: RouteTableState, batch: boolean): EmuResponse | null {
    const now = clock.now();
    if (t.taskUntil > now) return errorResponse('TaskConflict');
    if (batch) {
      for (const other of vpc.tables.values())
        if (other !== t && other.taskUntil > now) return errorResponse('OperationConflict');
    }
    if (vpc.unstable(t)) return errorResponse('IncorrectRouteEntryStatus');
    return null;
  }

  function renderEntry(e: RouteEntry): Record<string, unknown> {
    const enabled = e.nextHopType !== 'Instance' || instanceAlive(e.nextHopId) ? 1 : 0;
    return {
      RouteEntryId: e.id,
      RouteEntryName: e.name,
      Description: e.description,
      RouteTableId: e.tableId,
      DestinationCidrBlock: e.destination,
      Type: e.type,
      Status: e.status,
      IpVersion: 'ipv4',
      CreateTime: e.createdAt,
      Origin: e.type === 'System' ? 'System' : 'Custom',
      NextHops: {
        NextHop: [
          {
            NextHopType: e.nextHopType,
            NextHopId: e.nextHopId,
            Enabled: enabled,
            Weight: 0,
            NextHopRegionId: EMULATOR_TOPOLOGY.region,
          },
        ],
      },
    };
  }

  function renderTable(t: RouteTableState): Record<string, unknown> {
    return {
      RouteTableId: t.id,
      RouteTableName: t.name,
      RouteTableType: t.type,
      RouterId: V_ROUTER_ID,
      RouterType: 'VRouter',
      VpcId: vpc.vpcId,
      Status: 'Available',
      Description: '',
      CreationTime: new Date(t.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      ResourceGroupId: 'rg-emu',
      VSwitchIds: { VSwitchId: t.type === 'System' ? VSWITCHES.map((s) => s.id) : [] },
    };
  }

  function renderInstance(i: EmuInstance): Record<string, unknown> {
    return {
      InstanceId: i.id,
      InstanceName: i.name,
      HostName: i.name,
      Status: STATUS[i.state],
      ZoneId: i.zone,
      RegionId: EMULATOR_TOPOLOGY.region,
      InstanceType: 'ecs.g7.large',
      InstanceNetworkType: 'vpc',
      VpcAttributes: {
        VpcId: vpc.vpcId,
        VSwitchId: (VSWITCHES.find((s) => s.zone === i.zone) ?? VSWITCHES[0])!.id,
        PrivateIpAddress: { IpAddress: [i.privateIp] },
        NatIpAddress: '',
      },
      Tags: { Tag: Object.entries(i.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) },
      CreationTime: new Date(i.createdAt).toISOString().replace(/:\d\d\.\d+Z$/, 'Z'),
    };
  }

  function nextHopProblem(type: string, id: string | undefined): string | null {
    if (type !== 'Instance') return null;
    if (!id) return 'InvalidNextHop.NotFound';
    return instanceAlive(id) ? null : 'InvalidNextHop.NotFound';
  }

  function adminTable(b: Record<string, unknown>): RouteTableState {
    if (b.table === undefined) return vpc.tables.get(sysTable) as RouteTableState;
    if (typeof b.table !== 'string') throw new AdminError('table: must be a route table id');
    const t = vpc.tables.get(b.table);
    if (!t) throw new AdminError(`table: no route table ${b.table} (have ${[...vpc.tables.keys()].join(', ')})`, 404);
    return t;
  }

  return {
    profile,
    clock,
    defaultTags,
    inventory,
    vpc,
    sysTable,
    windows,
    settleAt,
    clientTokens,
    instanceAlive,
    table,
    namedEntry,
    busy,
    renderEntry,
    renderTable,
    renderInstance,
    nextHopProblem,
    adminTable,
  };
}

export type AliyunWorld = ReturnType<typeof aliyunWorld>;
