// The Aliyun emulator's read calls: DescribeVpcs, DescribeRouteTableList, DescribeRouteEntryList (VPC),
// DescribeInstances (ECS) and GetProductQuota (Quota Center), in the wire shapes pop-core parses.
import { matchesTags } from '../shared/inventory.ts';
import { decodeToken, paginate } from '../shared/paging.ts';
import { normaliseDestination, type RouteEntry } from './state.ts';
import { errorResponse, intParam, okResponse, repeated } from './wire.ts';
import {
  type AliyunWorld,
  ECS_VERSION,
  EMULATOR_TOPOLOGY,
  type Handler,
  QUOTAS_VERSION,
  ROUTE_QUOTA_ACTION,
  STATUS,
  V_ROUTER_ID,
  VPC_VERSION,
} from './world.ts';

export function readHandlers(w: AliyunWorld): Record<string, Handler> {
  const { inventory, vpc, table, renderEntry, renderTable, renderInstance } = w;
  return {
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
}
