// Wire-level emulator of the Alibaba Cloud route subset: VPC 2016-04-28 (route tables and entries), ECS
// 2014-05-26 (DescribeInstances) and Quota Center 2020-05-10 (GetProductQuota), on one RPC endpoint that
// dispatches on Action + Version, as pop-core sends them.
import { hostileAliyun } from './hostile.ts';
import { parseCidr, type Cidr } from '../../src/lib/cidr.ts';
import { EmuInventory, matchesTags, type EmuInstance } from '../shared/inventory.ts';
import { decodeToken, paginate } from '../shared/paging.ts';
import { drawMs, pickProfile } from '../shared/profile.ts';
import {
  AdminError,
  type CloudEmulator,
  type EmulatorContext,
  type EmulatorFactory,
  type EmuRequest,
  type EmuResponse,
} from '../shared/types.ts';
import { PROFILES } from './profile.ts';
import { RateWindows } from './rate-windows.ts';
import { normaliseDestination, VpcState, type RouteEntry, type RouteTableState } from './state.ts';
import { errorResponse, intParam, okResponse, readParams, repeated, type Params } from './wire.ts';
import { aliyunMetadata } from './metadata.ts';

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

const V_ROUTER_ID = 'vrt-bp1emu00000000000001';
const ZONES = ['cn-hangzhou-h', 'cn-hangzhou-i', 'cn-hangzhou-j'] as const;
const VSWITCHES = [
  { id: 'vsw-bp1emu00000000000001', cidr: '192.168.0.0/18', zone: ZONES[0] },
  { id: 'vsw-bp1emu00000000000002', cidr: '192.168.64.0/18', zone: ZONES[1] },
  { id: 'vsw-bp1emu00000000000003', cidr: '192.168.128.0/18', zone: ZONES[2] },
];

type Handler = (p: Params, req: EmuRequest) => EmuResponse;

const STATUS: Record<EmuInstance['state'], string> = {
  pending: 'Pending',
  running: 'Running',
  stopping: 'Stopping',
  stopped: 'Stopped',
  terminated: 'Deleted',
};

export const createAliyunEmulator: EmulatorFactory = (ctx: EmulatorContext): CloudEmulator => {
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

  const handlers: Record<string, Handler> = {
    [`${VPC_VERSION}/DescribeVpcs`]: (p) => {
      const want = p.get('VpcId');
      const list = want === undefined || want === vpc.vpcId ? [vpc] : [];
      return okResponse({
        TotalCount: list.length,
        PageNumber: 1,
        PageSize: 10,
        Vpcs: {
          Vpc: list.map((v) => ({
            VpcId: v.vpcId,
            VpcName: 'routesync-emulator',
            CidrBlock: v.cidr,
            VRouterId: v.vRouterId,
            RegionId: EMULATOR_TOPOLOGY.region,
            Status: 'Available',
            IsDefault: false,
            RouterTableIds: { RouterTableIds: [...v.tables.keys()] },
            VSwitchIds: { VSwitchId: v.vswitches.map((s) => s.id) },
          })),
        },
      });
    },

    [`${VPC_VERSION}/DescribeRouteTableList`]: (p) => {
      const pageNumber = intParam(p, 'PageNumber', 1, 1, 100_000);
      const pageSize = intParam(p, 'PageSize', 10, 1, 50);
      if (pageNumber === null || pageSize === null)
        return errorResponse('InvalidParameter', 'The specified PageNumber or PageSize is not valid.');
      let list = [...vpc.tables.values()];
      const vpcId = p.get('VpcId');
      if (vpcId !== undefined && vpcId !== vpc.vpcId) list = [];
      const rtId = p.get('RouteTableId');
      if (rtId) list = list.filter((t) => t.id === rtId);
      const routerId = p.get('RouterId');
      if (routerId && routerId !== V_ROUTER_ID) list = [];
      const routerType = p.get('RouterType');
      if (routerType && routerType !== 'VRouter') list = [];
      const type = p.get('RouteTableType');
      if (type) list = list.filter((t) => t.type === type);
      const page = list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
      return okResponse({
        Success: true,
        Code: '200',
        Message: 'successful',
        TotalCount: list.length,
        PageNumber: pageNumber,
        PageSize: pageSize,
        RouterTableList: { RouterTableListType: page.map(renderTable) },
      });
    },

    [`${VPC_VERSION}/DescribeRouteEntryList`]: (p, req) => {
      const t = table(p);
      if (!('entries' in t)) return t;
      const max = intParam(p, 'MaxResult', 10, 1, 100);
      if (max === null) return errorResponse('InvalidParameter', 'The specified MaxResult is not valid.');
      const offset = decodeToken(p.get('NextToken'));
      if (offset === null) return errorResponse('InvalidParameter', 'The specified NextToken is not valid.');
      let list = [...t.entries.values()];
      const f = (name: string, pick: (e: RouteEntry) => string) => {
        const v = p.get(name);
        if (v !== undefined && v !== '') list = list.filter((e) => pick(e) === v);
      };
      f('RouteEntryId', (e) => e.id);
      f('RouteEntryType', (e) => e.type);
      f('NextHopType', (e) => e.nextHopType);
      f('NextHopId', (e) => e.nextHopId);
      f('RouteEntryName', (e) => e.name);
      const dest = p.get('DestinationCidrBlock');
      if (dest !== undefined && dest !== '') {
        const d = normaliseDestination(dest);
        if (d === null) return errorResponse('InvalidCidrBlock.Malformed');
        list = list.filter((e) => e.destination === d);
      }
      const listed = [...p].filter(([k]) => /^DestCidrBlockList\.\d+$/.test(k)).map(([, v]) => normaliseDestination(v));
      if (listed.length > 0) {
        const wanted = new Set(listed);
        list = list.filter((e) => wanted.has(e.destination));
      }
      const page = paginate(list, p.get('NextToken'), max, req.paging);
      if (!page) return errorResponse('InvalidParameter', 'The specified NextToken is not valid.');
      return okResponse({ NextToken: page.nextToken ?? '', RouteEntrys: { RouteEntry: page.items.map(renderEntry) } });
    },

    [`${VPC_VERSION}/CreateRouteEntry`]: (p) => {
      const t = table(p);
      if (!('entries' in t)) return t;
      const raw = p.get('DestinationCidrBlock');
      if (!raw)
        return errorResponse(
          'MissingParameter',
          'The input parameter "DestinationCidrBlock" that is mandatory for processing this request is not supplied.',
        );
      const dest = normaliseDestination(raw);
      if (dest === null) return errorResponse('InvalidCidrBlock.Malformed');
      if (vpc.forbiddenDestination(parseDest(dest))) return errorResponse('InvalidCidrBlock');
      const type = p.get('NextHopType') || 'Instance';
      if (!/^[A-Za-z0-9]+$/.test(type)) return errorResponse('InvalidNextHopType');
      const hop = p.get('NextHopId') ?? '';
      const hopProblem = nextHopProblem(type, hop);
      if (hopProblem) return errorResponse(hopProblem);
      if (t.entries.has(dest)) return errorResponse('InvalidCIDRBlock.Duplicate');
      if (vpc.customCount(t) >= t.quota) return errorResponse('QuotaExceeded');
      const b = busy(t, false);
      if (b) return b;
      const e = vpc.put(
        t,
        {
          destination: dest,
          type: 'Custom',
          nextHopType: type,
          nextHopId: hop,
          name: p.get('RouteEntryName') ?? '',
          description: p.get('Description') ?? '',
        },
        'Pending',
        settleAt(),
        clock.now(),
      );
      t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({ RouteEntryId: e.id });
    },

    [`${VPC_VERSION}/CreateRouteEntries`]: (p) => {
      const items = repeated(p, 'RouteEntries');
      if (items.length === 0)
        return errorResponse(
          'MissingParameter',
          'The input parameter "RouteEntries" that is mandatory for processing this request is not supplied.',
        );
      if (items.length > profile.batchMax)
        return errorResponse('InvalidParameter', `The number of RouteEntries must not exceed ${profile.batchMax}.`);
      const parsed: Array<{
        table: RouteTableState;
        dest: string;
        hop: string;
        type: string;
        name: string;
        description: string;
      }> = [];
      for (const [i, it] of items.entries()) {
        if (!it.RouteTableId) return errorResponse('MissingParam.RouteTableId');
        if (!it.DstCidrBlock)
          return errorResponse(
            'MissingParameter',
            `The input parameter "RouteEntries.${i + 1}.DstCidrBlock" that is mandatory for processing this request is not supplied.`,
          );
        if (!it.NextHop)
          return errorResponse(
            'MissingParameter',
            `The input parameter "RouteEntries.${i + 1}.NextHop" that is mandatory for processing this request is not supplied.`,
          );
        const t = vpc.tables.get(it.RouteTableId);
        if (!t) return errorResponse('InvalidRouteTableId.NotFound');
        const dest = normaliseDestination(it.DstCidrBlock);
        if (dest === null)
          return errorResponse('InvalidCidrBlock.Malformed', `Specified CIDR block is not valid: ${it.DstCidrBlock}`);
        const type = it.NextHopType || 'Instance';
        if (!/^[A-Za-z0-9]+$/.test(type)) return errorResponse('InvalidNextHopType');
        parsed.push({ table: t, dest, hop: it.NextHop, type, name: it.Name ?? '', description: it.Description ?? '' });
      }
      for (const t of new Set(parsed.map((x) => x.table))) {
        const b = busy(t, true);
        if (b) return b;
      }
      const failed: Array<Record<string, string>> = [];
      const ids: string[] = [];
      const touched = new Set<RouteTableState>();
      for (const x of parsed) {
        const fail = (code: string, message: string) =>
          failed.push({ DstCidrBlock: x.dest, NextHop: x.hop, FailedCode: code, FailedMessage: message });
        if (vpc.forbiddenDestination(parseDest(x.dest))) fail('InvalidCidrBlock', 'Specified CIDR block is not valid.');
        else if (x.table.entries.has(x.dest))
          fail(
            'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE',
            `Specified CIDR block is already exists, entry.cidrBlock=${x.dest}`,
          );
        else if (nextHopProblem(x.type, x.hop)) fail('InvalidNextHop.NotFound', 'Specified next hop does not exist.');
        else if (vpc.customCount(x.table) >= x.table.quota)
          fail(profile.entryQuotaCode, 'Route entry quota exceeded in this route table.');
        else {
          const e = vpc.put(
            x.table,
            {
              destination: x.dest,
              type: 'Custom',
              nextHopType: x.type,
              nextHopId: x.hop,
              name: x.name,
              description: x.description,
            },
            'Pending',
            settleAt(),
            clock.now(),
          );
          ids.push(e.id);
          touched.add(x.table);
        }
      }
      for (const t of touched) t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({
        SuccessCount: ids.length,
        FailedCount: failed.length,
        FailedRouteEntries: failed,
        RouteEntryIds: ids,
      });
    },

    [`${VPC_VERSION}/DeleteRouteEntry`]: (p) => {
      const found = namedEntry(p, 'DestinationCidrBlock');
      if (!('entry' in found)) return found;
      const { entry, byId } = found;
      const hop = p.get('NextHopId');
      if (!entry || (!byId && hop && entry.nextHopId !== hop))
        return errorResponse(byId ? 'InvalidRouteEntryId.NotFound' : 'InvalidRouteEntry.NotFound');
      if (entry.type === 'System') return errorResponse('OperationDenied');
      const t = vpc.tables.get(entry.tableId) as RouteTableState;
      const b = busy(t, false);
      if (b) return b;
      entry.status = 'Deleting';
      entry.settleAt = settleAt();
      t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({});
    },

    [`${VPC_VERSION}/DeleteRouteEntries`]: (p) => {
      const items = repeated(p, 'RouteEntries');
      if (items.length === 0)
        return errorResponse(
          'MissingParameter',
          'The input parameter "RouteEntries" that is mandatory for processing this request is not supplied.',
        );
      if (items.length > profile.batchMax)
        return errorResponse('InvalidParameter', `The number of RouteEntries must not exceed ${profile.batchMax}.`);
      const parsed: Array<{ table: RouteTableState; id?: string; dest?: string; hop?: string }> = [];
      for (const [i, it] of items.entries()) {
        if (!it.RouteTableId) return errorResponse('MissingParam.RouteTableId');
        const t = vpc.tables.get(it.RouteTableId);
        if (!t) return errorResponse('InvalidRouteTableId.NotFound');
        if (!it.RouteEntryId && !(it.DstCidrBlock && it.NextHop)) {
          return errorResponse(
            'MissingParameter',
            `RouteEntries.${i + 1}: give RouteEntryId, or DstCidrBlock and NextHop.`,
          );
        }
        let dest: string | undefined;
        if (it.DstCidrBlock) {
          const d = normaliseDestination(it.DstCidrBlock);
          if (d === null)
            return errorResponse('InvalidCidrBlock.Malformed', `Specified CIDR block is not valid: ${it.DstCidrBlock}`);
          dest = d;
        }
        parsed.push({
          table: t,
          ...(it.RouteEntryId ? { id: it.RouteEntryId } : {}),
          ...(dest ? { dest } : {}),
          ...(it.NextHop ? { hop: it.NextHop } : {}),
        });
      }
      for (const t of new Set(parsed.map((x) => x.table))) {
        const b = busy(t, true);
        if (b) return b;
      }
      const failed: Array<Record<string, string>> = [];
      let ok = 0;
      const touched = new Set<RouteTableState>();
      for (const x of parsed) {
        const e =
          x.id !== undefined
            ? [...x.table.entries.values()].find((v) => v.id === x.id)
            : x.table.entries.get(x.dest as string);
        const fail = (code: string, message: string) =>
          failed.push({
            DstCidrBlock: x.dest ?? e?.destination ?? '',
            NextHop: x.hop ?? e?.nextHopId ?? '',
            FailedCode: code,
            FailedMessage: message,
          });
        if (!e || e.status === 'Deleting' || (x.hop !== undefined && x.id === undefined && e.nextHopId !== x.hop))
          fail('VPC_ROUTER_ENTRY_NOT_EXIST', 'Specified route entry does not exist.');
        else if (e.type === 'System')
          fail('OperationDenied', 'Specified operation is denied as route entry type is system.');
        else {
          e.status = 'Deleting';
          e.settleAt = settleAt();
          touched.add(x.table);
          ok++;
        }
      }
      for (const t of touched) t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({ SuccessCount: ok, FailedCount: failed.length, FailedRouteEntries: failed });
    },

    [`${VPC_VERSION}/ModifyRouteEntry`]: (p) => {
      const found = namedEntry(p, 'RouteEntryId');
      if (!('entry' in found)) return found;
      const { entry, byId } = found;
      if (!entry || entry.status === 'Deleting')
        return errorResponse(byId ? 'InvalidRouteEntryId.NotFound' : 'InvalidRouteEntry.NotFound');
      if (entry.type === 'System') return errorResponse('OperationDenied');
      const newHop = p.get('NewNextHopId');
      const newType = p.get('NewNextHopType') || (newHop ? 'Instance' : undefined);
      const name = p.get('RouteEntryName');
      const description = p.get('Description');
      if (newHop !== undefined) {
        const problem = nextHopProblem(newType as string, newHop);
        if (problem) return errorResponse(problem);
        if (
          newHop === entry.nextHopId &&
          newType === entry.nextHopType &&
          name === undefined &&
          description === undefined
        ) {
          return errorResponse('OperationDenied.NextHopNotChanged');
        }
      }
      const t = vpc.tables.get(entry.tableId) as RouteTableState;
      const hopChanges = newHop !== undefined && (newHop !== entry.nextHopId || newType !== entry.nextHopType);
      if (hopChanges) {
        const b = busy(t, false);
        if (b) return b;
        entry.nextHopId = newHop;
        entry.nextHopType = newType as string;
        entry.status = 'Modifying';
        entry.settleAt = settleAt();
        t.taskUntil = clock.now() + profile.taskMs;
      }
      if (name !== undefined) entry.name = name;
      if (description !== undefined) entry.description = description;
      return okResponse({});
    },

    [`${ECS_VERSION}/DescribeInstances`]: (p, req) => {
      let list = inventory.list().filter((i) => i.state !== 'terminated');
      const vpcId = p.get('VpcId');
      if (vpcId !== undefined && vpcId !== vpc.vpcId) list = [];
      const tags = repeated(p, 'Tag');
      const filter: Record<string, string> = {};
      for (const t of tags) {
        if (t.Key === undefined) return errorResponse('InvalidParameter', 'The specified Tag.n.Key is not valid.');
        filter[t.Key] = t.Value ?? '';
      }
      list = list.filter((i) => matchesTags(i, filter));
      const status = p.get('Status');
      if (status) list = list.filter((i) => STATUS[i.state] === status);
      const ids = p.get('InstanceIds');
      if (ids) {
        let wanted: unknown;
        try {
          wanted = JSON.parse(ids);
        } catch {
          wanted = null;
        }
        if (!Array.isArray(wanted))
          return errorResponse('InvalidParameter', 'The specified InstanceIds is not a JSON array.');
        const set = new Set(wanted.map(String));
        list = list.filter((i) => set.has(i.id));
      }
      if (p.has('NextToken') || p.has('MaxResults')) {
        const max = intParam(p, 'MaxResults', 10, 1, 100);
        if (max === null) return errorResponse('InvalidParameter', 'The specified MaxResults is not valid.');
        // TotalCount stays the truth whatever hostile paging does to the pages (page-short is a listing short of it).
        const page = paginate(list, p.get('NextToken'), max, req.paging);
        if (!page) return errorResponse('InvalidParameter', 'The specified NextToken is not valid.');
        return okResponse({
          TotalCount: list.length,
          NextToken: page.nextToken ?? '',
          Instances: { Instance: page.items.map(renderInstance) },
        });
      }
      const pageNumber = intParam(p, 'PageNumber', 1, 1, 1_000_000);
      const pageSize = intParam(p, 'PageSize', 10, 1, 100);
      if (pageNumber === null || pageSize === null)
        return errorResponse('InvalidParameter', 'The specified PageNumber or PageSize is not valid.');
      const page = list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
      return okResponse({
        TotalCount: list.length,
        PageNumber: pageNumber,
        PageSize: pageSize,
        Instances: { Instance: page.map(renderInstance) },
      });
    },

    [`${QUOTAS_VERSION}/GetProductQuota`]: (p) => {
      const product = p.get('ProductCode');
      const action = p.get('QuotaActionCode');
      if (!product)
        return errorResponse(
          'MissingParameter',
          'The input parameter "ProductCode" that is mandatory for processing this request is not supplied.',
        );
      if (!action)
        return errorResponse(
          'MissingParameter',
          'The input parameter "QuotaActionCode" that is mandatory for processing this request is not supplied.',
        );
      if (product !== 'vpc' || action !== ROUTE_QUOTA_ACTION)
        return errorResponse('InvalidParameter', `Quota ${product}/${action} is not emulated.`);
      const dims = repeated(p, 'Dimensions');
      const tableDim = dims.find((d) => d.Key === 'routeTableId')?.Value;
      const t = tableDim ? vpc.tables.get(tableDim) : [...vpc.tables.values()][0];
      if (!t) return errorResponse('InvalidParameter', `Dimension routeTableId ${tableDim} is not valid.`);
      return okResponse({
        Quota: {
          QuotaActionCode: action,
          QuotaName: 'Maximum number of custom route entries per route table',
          QuotaDescription: 'The maximum number of custom route entries that can be created in a route table',
          ProductCode: product,
          QuotaUnit: 'Count',
          TotalQuota: t.quota,
          TotalUsage: vpc.customCount(t),
          Adjustable: true,
          Consumable: true,
          Dimensions: Object.fromEntries(dims.map((d) => [d.Key, d.Value])),
        },
      });
    },
  };

  const mutating = (action: string) => /^(Create|Delete|Modify)/.test(action);
  const KNOWN_VERSIONS = new Set([VPC_VERSION, ECS_VERSION, QUOTAS_VERSION]);

  const emulator: CloudEmulator = {
    kind: 'aliyun',
    metadata: aliyunMetadata,
    topology: {
      region: EMULATOR_TOPOLOGY.region,
      vpcId: EMULATOR_TOPOLOGY.vpcId,
      tables: EMULATOR_TOPOLOGY.tables,
      credentials: { ALIBABA_CLOUD_ACCESS_KEY_ID: 'local', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'local' },
      credentialsRule: 'any AccessKeyId and secret (signatures are not checked; an AccessKeyId must be present)',
    },

    identify(req: EmuRequest) {
      const p = readParams(req);
      const action = p.get('Action') ?? String(req.headers['x-acs-action'] ?? 'Unknown');
      return { action, client: p.get('AccessKeyId') ?? 'anonymous', mutating: mutating(action) };
    },

    async handle(req, action) {
      const p = readParams(req);
      vpc.settle(clock.now());
      const version = p.get('Version') ?? '';
      if (!KNOWN_VERSIONS.has(version)) return errorResponse('InvalidVersion');
      const h = handlers[`${version}/${action}`];
      if (!h) return errorResponse('InvalidAction.NotFound');
      if (!p.get('AccessKeyId')) return errorResponse('InvalidAccessKeyId.NotFound');
      if (version !== QUOTAS_VERSION) {
        const region = p.get('RegionId');
        if (!region)
          return errorResponse(
            'MissingParameter',
            'The input parameter "RegionId" that is mandatory for processing this request is not supplied.',
          );
        if (region !== EMULATOR_TOPOLOGY.region) return errorResponse('InvalidRegionId.NotFound');
      }
      const write = mutating(action);
      if (!windows.tryTake(p.get('AccessKeyId') as string, action, write)) return errorResponse('Throttling.User');
      const token = write ? p.get('ClientToken') : undefined;
      if (token) {
        const seen = clientTokens.get(`${action}/${token}`);
        if (seen) return seen;
      }
      try {
        const out = h(p, req);
        if (token && out.status === 200) clientTokens.set(`${action}/${token}`, out);
        return out;
      } catch (e) {
        return errorResponse('InternalError', `emulator: ${String(e)}`);
      }
    },

    hostileResponse: hostileAliyun,

    faultResponse(error) {
      if (error === 'throttle') return errorResponse('Throttling');
      if (error === '5xx') return errorResponse('ServiceUnavailable');
      return errorResponse(error);
    },

    latencyMs(_action, write) {
      return drawMs(write ? profile.writeLatency : profile.readLatency, ctx.rng);
    },

    admin: {
      state() {
        vpc.settle(clock.now());
        return {
          instances: inventory.list().map((i) => ({
            id: i.id,
            name: i.name,
            privateIp: i.privateIp,
            zone: i.zone,
            state: i.state,
            tags: { ...i.tags },
          })),
          tables: [...vpc.tables.values()].map((t) => ({
            id: t.id,
            quota: t.quota,
            routes: [...t.entries.values()].map((e) => ({
              destination: e.destination,
              target: e.nextHopType === 'Instance' ? e.nextHopId : null,
              nextHop:
                e.nextHopType === 'Instance'
                  ? e.nextHopId
                  : e.nextHopType === 'local' || e.nextHopType === 'service'
                    ? e.nextHopType
                    : `${e.nextHopType}:${e.nextHopId}`,
              state:
                e.status !== 'Available'
                  ? 'pending'
                  : e.nextHopType === 'Instance' && !instanceAlive(e.nextHopId)
                    ? 'blackhole'
                    : 'active',
              ...(e.name ? { name: e.name } : {}),
              ...(e.description ? { description: e.description } : {}),
            })),
          })),
        };
      },

      addInstances(body) {
        return inventory.addFromAdmin(body, defaultTags);
      },

      terminateInstance(id) {
        const i = inventory.get(id);
        if (!i || i.state === 'terminated') return false;
        inventory.terminate(id);
        return true;
      },

      addRoute(body) {
        const b = adminBody(body, 'routes');
        const t = adminTable(b);
        if (typeof b.destination !== 'string')
          throw new AdminError('routes.destination: required, a CIDR such as 10.0.0.0/24');
        const dest = normaliseDestination(b.destination);
        if (dest === null)
          throw new AdminError(`routes.destination: ${JSON.stringify(b.destination)} is not a valid IPv4 CIDR`);
        if (t.entries.has(dest))
          throw new AdminError(`routes.destination: ${dest} already has an entry in ${t.id}`, 409);
        let type: string;
        let hop: string;
        if (typeof b.target === 'string') {
          if (!inventory.get(b.target)) throw new AdminError(`routes.target: no instance ${b.target}`);
          type = 'Instance';
          hop = b.target;
        } else if (typeof b.nextHop === 'string' && b.nextHop !== '') {
          [type, hop] = parseFreeHop(b.nextHop);
        } else {
          throw new AdminError('routes: give target (an instance id) or nextHop');
        }
        if (
          b.task !== undefined &&
          typeof b.task !== 'boolean' &&
          !(Number.isInteger(b.task) && (b.task as number) > 0)
        )
          throw new AdminError('routes.task: true, or the emulated ms the route task runs');
        vpc.settle(clock.now());
        // `task: true` plays another writer of the VPC (console, Terraform, the CCM): the entry goes through
        // a route task of its own, Pending, and the VPC answers TaskConflict / OperationConflict meanwhile
        // (for the profile's taskMs, or the ms given).
        const task = b.task !== undefined && b.task !== false;
        const e = vpc.put(
          t,
          {
            destination: dest,
            type: 'Custom',
            nextHopType: type,
            nextHopId: hop,
            name: typeof b.name === 'string' ? b.name : '',
            description: typeof b.description === 'string' ? b.description : '',
          },
          task ? 'Pending' : 'Available',
          task ? settleAt() : clock.now(),
          clock.now(),
        );
        if (task) t.taskUntil = clock.now() + (typeof b.task === 'number' ? b.task : profile.taskMs);
        return { id: e.id, table: t.id, destination: dest, nextHopType: type, nextHopId: hop };
      },

      deleteRoute(body) {
        const b = adminBody(body, 'routes');
        const t = adminTable(b);
        if (typeof b.destination !== 'string') throw new AdminError('routes.destination: required');
        const dest = normaliseDestination(b.destination);
        if (dest === null)
          throw new AdminError(`routes.destination: ${JSON.stringify(b.destination)} is not a valid IPv4 CIDR`);
        const e = t.entries.get(dest);
        if (!e || e.type === 'System') return false;
        t.entries.delete(dest);
        return true;
      },

      setQuota(body) {
        const b = adminBody(body, 'quota');
        if (!Number.isInteger(b.limit) || (b.limit as number) < 0)
          throw new AdminError('quota.limit: must be a non-negative integer');
        if (b.table !== undefined) adminTable(b).quota = b.limit as number;
        else for (const t of vpc.tables.values()) t.quota = b.limit as number;
      },
    },
  };

  function adminTable(b: Record<string, unknown>): RouteTableState {
    if (b.table === undefined) return vpc.tables.get(sysTable) as RouteTableState;
    if (typeof b.table !== 'string') throw new AdminError('table: must be a route table id');
    const t = vpc.tables.get(b.table);
    if (!t) throw new AdminError(`table: no route table ${b.table} (have ${[...vpc.tables.keys()].join(', ')})`, 404);
    return t;
  }

  return emulator;
};

function adminBody(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AdminError(`${what}: body must be a JSON object`);
  return body as Record<string, unknown>;
}

const HOP_PREFIXES: Array<[string, string]> = [
  ['vpn-', 'VpnGateway'],
  ['ngw-', 'NatGateway'],
  ['eni-', 'NetworkInterface'],
  ['havip-', 'HaVip'],
  ['ri-', 'RouterInterface'],
  ['tr-', 'Attachment'],
  ['pcc-', 'VpcPeer'],
];

/** `Type:id` as given, else the type the id's prefix names (vpn- → VpnGateway …). */
function parseFreeHop(text: string): [string, string] {
  const i = text.indexOf(':');
  if (i > 0) return [text.slice(0, i), text.slice(i + 1)];
  const hit = HOP_PREFIXES.find(([prefix]) => text.startsWith(prefix));
  return [hit ? hit[1] : 'RouterInterface', text];
}

/** Only called on destinations normaliseDestination already accepted. */
function parseDest(d: string): Cidr {
  return parseCidr(d);
}
