// Wire-level EC2 emulator (Query protocol, XML) for the route subset routesync uses, plus Service Quotas'
// GetServiceQuota (JSON 1.1) on the same port, so @aws-sdk/client-ec2 and client-service-quotas talk to it
// unchanged. Topology: one VPC with two route tables (main + one subnet-associated), each with `local`.
// The admin API is admin.ts.
import { hostileAws } from './hostile.ts';
import { EmuInventory, type EmuInstance } from '../shared/inventory.ts';
import { paginate, type PageFaultState } from '../shared/paging.ts';
import { drawMs, pickProfile } from '../shared/profile.ts';
import { TokenBucket } from '../shared/token-bucket.ts';
import type { CloudEmulator, EmulatorContext, EmulatorFactory, EmuRequest, EmuResponse } from '../shared/types.ts';
import { multipleInterfaces, VpcState, type RouteTarget } from './state.ts';
import { eniXml, prefixListXml, reservationXml, tableXml } from './render.ts';
import {
  accessKeyOf,
  boolParam,
  Ec2Fault,
  el,
  filters,
  jsonError,
  jsonOk,
  listParam,
  maxResults,
  parseForm,
  required,
  set,
  text,
  xmlError,
  xmlOk,
  type Filter,
  type Params,
} from './wire.ts';
import { awsAdmin } from './admin.ts';
import { awsMetadata } from './metadata.ts';
import { PROFILES } from './profile.ts';

const MAIN_TABLE = 'rtb-0a1b2c3d4e5f60001';
const SUBNET_TABLE = 'rtb-0a1b2c3d4e5f60002';
const SUBNET_ID = 'subnet-0a1b2c3d4e5f60001';

/** The fixed ids a config needs to point at this emulator (same shape for the three clouds). */
export const EMULATOR_TOPOLOGY: {
  region?: string;
  vpcId?: string;
  project?: string;
  network?: string;
  tables: string[];
  subnets: string[];
} = {
  region: 'us-east-1',
  vpcId: 'vpc-0a1b2c3d4e5f60001',
  subnets: [SUBNET_ID],
  tables: [MAIN_TABLE, SUBNET_TABLE],
};
const VPC_ID = 'vpc-0a1b2c3d4e5f60001';

const VPC_CIDR = '10.0.0.0/16';
export const ROUTES_QUOTA_CODE = 'L-93826ACB';

const MUTATING = new Set([
  'CreateRoute',
  'ReplaceRoute',
  'DeleteRoute',
  'ModifyInstanceAttribute',
  'ModifyNetworkInterfaceAttribute',
]);

export const createAwsEmulator: EmulatorFactory = (ctx: EmulatorContext): CloudEmulator => {
  const { clock, rng, options } = ctx;
  const profile = pickProfile(PROFILES, options.profile);
  const tag = options.instanceTag ?? { key: 'routesync-cluster', value: 'demo' };
  const defaultTags = { [tag.key]: tag.value };
  const inventory = new EmuInventory(
    {
      idFor: (n) => `i-0${(0xa000000 + n).toString(16).padStart(16, '0')}`,
      zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      ipPrefix: '10.0',
    },
    () => clock.now(),
  );
  // The account's applied "Routes per route table" value: none until one is set (a quota increase, or the
  // emulator started with routeQuota), and then GetServiceQuota answers NoSuchResourceException, as on EC2.
  let applied: number | undefined = options.routeQuota;
  const accountQuota = () => applied ?? profile.defaultRouteQuota;
  const rtMain = MAIN_TABLE;
  const vpc = new VpcState({
    vpcId: VPC_ID,
    vpcCidr: VPC_CIDR,
    quota: accountQuota(),
    inventory,
    tables: [
      { id: MAIN_TABLE, vpcId: VPC_ID, main: true, subnetIds: [], associationIds: ['rtbassoc-0a1b2c3d4e5f60001'] },
      {
        id: SUBNET_TABLE,
        vpcId: VPC_ID,
        main: false,
        subnetIds: [SUBNET_ID],
        associationIds: ['rtbassoc-0a1b2c3d4e5f60002'],
      },
    ],
  });
  // Every `secondaryEniEvery`-th instance gets a second ENI (a multi-homed node), unless the admin body says.
  let launched = 0;
  function withEnis<T extends EmuInstance>(list: T[], explicit: (i: number) => number | undefined): T[] {
    list.forEach((inst, i) => {
      launched++;
      const n = explicit(i);
      const every = profile.secondaryEniEvery;
      const extra = n !== undefined ? n - 1 : every > 0 && launched % every === 0 ? 1 : 0;
      if (extra > 0) vpc.enis.attach(inst.id, extra);
    });
    return list;
  }
  if (options.instances) withEnis(inventory.add(options.instances, defaultTags), () => undefined);
  const subnetId = SUBNET_ID;

  const buckets = new Map<string, TokenBucket>();
  function bucket(action: string): TokenBucket {
    let b = buckets.get(action);
    if (!b) {
      const spec = MUTATING.has(action) ? profile.mutatingBucket : profile.describeBucket;
      b = new TokenBucket(spec.capacity, spec.perSecond, clock);
      buckets.set(action, b);
    }
    return b;
  }

  function requestId(): string {
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rng() * 16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  }

  // ---- EC2 actions ----

  function describeRouteTables(p: Params, rid: string, paging?: PageFaultState): EmuResponse {
    const ids = listParam(p, 'RouteTableId');
    const fs = filters(p);
    const max = maxResults(p, 5, 100);
    if (ids.length > 0 && max !== undefined) {
      throw new Ec2Fault(
        'InvalidParameterCombination',
        'The parameter routeTableIds cannot be used with the parameter maxResults',
      );
    }
    for (const id of ids) vpc.table(id);
    let tables = ids.length > 0 ? vpc.tables.filter((t) => ids.includes(t.id)) : vpc.tables;
    tables = tables.filter((t) => fs.every((f) => tableMatches(t, f)));
    const page = paginate(tables, p.get('NextToken'), max ?? 1000, paging);
    if (!page)
      throw new Ec2Fault('InvalidParameterValue', `Value (${p.get('NextToken')}) for parameter nextToken is invalid.`);
    return xmlOk(
      'DescribeRouteTables',
      rid,
      set(
        'routeTableSet',
        page.items.map((t) => tableXml(vpc, t)),
      ) + text('nextToken', page.nextToken),
    );
  }

  function tableMatches(t: (typeof vpc.tables)[number], f: Filter): boolean {
    const any = (vals: string[]) => f.values.some((v) => vals.includes(v));
    switch (f.name) {
      case 'vpc-id':
        return any([t.vpcId]);
      case 'route-table-id':
        return any([t.id]);
      case 'association.main':
        return t.main ? any(['true']) : t.subnetIds.length > 0 && any(['false']);
      case 'association.subnet-id':
        return any(t.subnetIds);
      case 'route.destination-cidr-block':
        return any(t.routes.map((r) => r.destination));
      case 'route.state':
        return any(t.routes.map((r) => vpc.stateOf(r)));
      case 'route.instance-id':
        return any(t.routes.flatMap((r) => vpc.instanceOf(r) ?? []));
      case 'route.network-interface-id':
        return any(t.routes.flatMap((r) => r.networkInterfaceId ?? []));
      case 'route.gateway-id':
        return any(t.routes.flatMap((r) => (r.gatewayId ? [r.gatewayId] : [])));
      default:
        throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    }
  }

  function instanceMatches(i: EmuInstance, f: Filter): boolean {
    const any = (vals: string[]) => f.values.some((v) => vals.includes(v));
    if (f.name.startsWith('tag:'))
      return any(i.tags[f.name.slice(4)] !== undefined ? [i.tags[f.name.slice(4)] as string] : []);
    switch (f.name) {
      case 'tag-key':
        return any(Object.keys(i.tags));
      case 'vpc-id':
        return i.state !== 'terminated' && any([vpc.vpcId]);
      case 'instance-state-name':
        return any([i.state]);
      case 'instance-id':
        return any([i.id]);
      case 'private-ip-address':
        return i.state !== 'terminated' && any([i.privateIp]);
      case 'availability-zone':
        return any([i.zone]);
      default:
        throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    }
  }

  function describeInstances(p: Params, rid: string, paging?: PageFaultState): EmuResponse {
    const ids = listParam(p, 'InstanceId');
    const fs = filters(p);
    const max = maxResults(p, 5, 1000);
    if (ids.length > 0 && max !== undefined) {
      throw new Ec2Fault(
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults',
      );
    }
    const missing = ids.filter((id) => !inventory.get(id));
    if (missing.length > 0)
      throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
    let list = ids.length > 0 ? inventory.list().filter((i) => ids.includes(i.id)) : inventory.list();
    list = list.filter((i) => fs.every((f) => instanceMatches(i, f)));
    const page = paginate(list, p.get('NextToken'), max ?? 1000, paging);
    if (!page)
      throw new Ec2Fault('InvalidParameterValue', `Value (${p.get('NextToken')}) for parameter nextToken is invalid.`);
    return xmlOk(
      'DescribeInstances',
      rid,
      set(
        'reservationSet',
        page.items.map((i) => reservationXml(vpc, i, vpc.vpcId, subnetId)),
      ) + text('nextToken', page.nextToken),
    );
  }

  function routeTarget(p: Params): RouteTarget {
    const instanceId = p.get('InstanceId');
    if (instanceId) return { instanceId };
    const networkInterfaceId = p.get('NetworkInterfaceId');
    if (networkInterfaceId) return { networkInterfaceId };
    for (const k of ['GatewayId', 'NatGatewayId', 'TransitGatewayId', 'VpcPeeringConnectionId']) {
      const v = p.get(k);
      if (v) return { hop: v };
    }
    throw new Ec2Fault(
      'MissingParameter',
      'The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, transitGatewayId or instanceId',
    );
  }

  function writeRoute(action: 'CreateRoute' | 'ReplaceRoute' | 'DeleteRoute', p: Params, rid: string): EmuResponse {
    const table = required(p, 'RouteTableId');
    const dest = required(p, 'DestinationCidrBlock');
    if (action === 'DeleteRoute') vpc.delete(table, dest);
    else if (action === 'CreateRoute') vpc.create(table, dest, routeTarget(p));
    else vpc.replace(table, dest, routeTarget(p));
    return xmlOk(action, rid, el('return', true));
  }

  function modifyInstanceAttribute(p: Params, rid: string): EmuResponse {
    const id = required(p, 'InstanceId');
    const inst = inventory.get(id);
    if (!inst) throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    const sdc = boolParam(p, 'SourceDestCheck.Value');
    if (sdc === undefined) throw new Ec2Fault('MissingParameter', 'The request must contain an attribute to modify');
    if (inst.state === 'terminated')
      throw new Ec2Fault(
        'IncorrectInstanceState',
        `The instance '${id}' is not in a state from which it can be modified.`,
      );
    // The instance attribute is its primary ENI's: EC2 refuses it when the instance has several.
    if (vpc.enis.count(id) > 1) throw multipleInterfaces(id);
    inst.sourceDestCheck = sdc;
    return xmlOk('ModifyInstanceAttribute', rid, el('return', true));
  }

  function modifyNetworkInterfaceAttribute(p: Params, rid: string): EmuResponse {
    const id = required(p, 'NetworkInterfaceId');
    if (!vpc.enis.get(id))
      throw new Ec2Fault('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    const sdc = boolParam(p, 'SourceDestCheck.Value');
    if (sdc === undefined) throw new Ec2Fault('MissingParameter', 'The request must contain an attribute to modify');
    vpc.enis.setSourceDestCheck(id, sdc);
    return xmlOk('ModifyNetworkInterfaceAttribute', rid, el('return', true));
  }

  function describeNetworkInterfaces(p: Params, rid: string, paging?: PageFaultState): EmuResponse {
    const ids = listParam(p, 'NetworkInterfaceId');
    const fs = filters(p);
    const max = maxResults(p, 5, 1000);
    if (ids.length > 0 && max !== undefined) {
      throw new Ec2Fault(
        'InvalidParameterCombination',
        'The parameter networkInterfaceIds cannot be used with the parameter maxResults',
      );
    }
    const missing = ids.filter((id) => !vpc.enis.get(id));
    if (missing.length > 0)
      throw new Ec2Fault(
        'InvalidNetworkInterfaceID.NotFound',
        `The networkInterface ID '${missing.join(', ')}' does not exist`,
      );
    let list = vpc.enis.all();
    if (ids.length > 0) list = list.filter((e) => ids.includes(e.id));
    list = list.filter((e) =>
      fs.every((f) => {
        const any = (vals: Array<string | undefined>) => f.values.some((v) => vals.includes(v));
        switch (f.name) {
          case 'network-interface-id':
            return any([e.id]);
          case 'attachment.instance-id':
            return any([e.instanceId]);
          case 'attachment.device-index':
            return e.instanceId !== undefined && any([String(e.deviceIndex)]);
          case 'vpc-id':
            return any([vpc.vpcId]);
          case 'status':
            return any([e.inUse ? 'in-use' : 'available']);
          default:
            throw new Ec2Fault('InvalidParameterValue', `The filter '${f.name}' is invalid`);
        }
      }),
    );
    const page = paginate(list, p.get('NextToken'), max ?? 1000, paging);
    if (!page)
      throw new Ec2Fault('InvalidParameterValue', `Value (${p.get('NextToken')}) for parameter nextToken is invalid.`);
    return xmlOk(
      'DescribeNetworkInterfaces',
      rid,
      set(
        'networkInterfaceSet',
        page.items.map((e) =>
          eniXml(
            e,
            vpc.vpcId,
            subnetId,
            e.deviceIndex === 0 && e.instanceId ? inventory.get(e.instanceId)?.privateIp : undefined,
          ),
        ),
      ) + text('nextToken', page.nextToken),
    );
  }

  function describeManagedPrefixLists(p: Params, rid: string): EmuResponse {
    const ids = [
      ...listParam(p, 'PrefixListId'),
      ...filters(p).flatMap((f) => (f.name === 'prefix-list-id' ? f.values : [])),
    ];
    const missing = ids.filter((id) => !vpc.prefixLists.has(id));
    if (missing.length > 0)
      throw new Ec2Fault('InvalidPrefixListID.NotFound', `The prefix list ID '${missing.join(', ')}' does not exist`);
    const lists = [...vpc.prefixLists.values()].filter((pl) => ids.length === 0 || ids.includes(pl.id));
    return xmlOk('DescribeManagedPrefixLists', rid, set('prefixListSet', lists.map(prefixListXml)));
  }

  function ec2(action: string, p: Params, rid: string, paging?: PageFaultState): EmuResponse {
    if (p.get('Version') === undefined)
      throw new Ec2Fault('MissingParameter', 'The request must contain the parameter Version');
    switch (action) {
      case 'DescribeRouteTables':
        return describeRouteTables(p, rid, paging);
      case 'DescribeInstances':
        return describeInstances(p, rid, paging);
      case 'CreateRoute':
      case 'ReplaceRoute':
      case 'DeleteRoute':
        return writeRoute(action, p, rid);
      case 'ModifyInstanceAttribute':
        return modifyInstanceAttribute(p, rid);
      case 'ModifyNetworkInterfaceAttribute':
        return modifyNetworkInterfaceAttribute(p, rid);
      case 'DescribeNetworkInterfaces':
        return describeNetworkInterfaces(p, rid, paging);
      case 'DescribeManagedPrefixLists':
        return describeManagedPrefixLists(p, rid);
      default:
        throw new Ec2Fault('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  // ---- Service Quotas (JSON 1.1) ----

  function serviceQuotas(action: string, body: string, rid: string): EmuResponse {
    let input: { ServiceCode?: unknown; QuotaCode?: unknown };
    try {
      input = JSON.parse(body === '' ? '{}' : body) as typeof input;
    } catch {
      return jsonError('ValidationException', 'request body is not valid JSON', 400, rid);
    }
    if (action !== 'GetServiceQuota' && action !== 'GetAWSDefaultServiceQuota') {
      return jsonError('UnknownOperationException', `unknown operation ${action}`, 400, rid);
    }
    if (typeof input.ServiceCode !== 'string' || typeof input.QuotaCode !== 'string') {
      return jsonError('ValidationException', 'ServiceCode and QuotaCode are required', 400, rid);
    }
    if (input.ServiceCode !== 'vpc' || input.QuotaCode !== ROUTES_QUOTA_CODE) {
      return jsonError(
        'NoSuchResourceException',
        `The request failed because the specified quota ${input.QuotaCode} of service ${input.ServiceCode} does not exist.`,
        400,
        rid,
      );
    }
    // No applied value (the account never asked for an increase): Service Quotas has no such resource, and
    // only GetAWSDefaultServiceQuota answers (aws/aws-cli#6629).
    if (action === 'GetServiceQuota' && applied === undefined) {
      return jsonError(
        'NoSuchResourceException',
        `The request failed because the specified resource does not exist: no applied quota value for ${ROUTES_QUOTA_CODE}.`,
        400,
        rid,
      );
    }
    const value = action === 'GetServiceQuota' ? (applied as number) : profile.defaultRouteQuota;
    return jsonOk(
      {
        Quota: {
          ServiceCode: 'vpc',
          ServiceName: 'Amazon Virtual Private Cloud (Amazon VPC)',
          QuotaArn: `arn:aws:servicequotas:us-east-1:${action === 'GetServiceQuota' ? '123456789012:' : ':'}vpc/${ROUTES_QUOTA_CODE}`,
          QuotaCode: ROUTES_QUOTA_CODE,
          QuotaName: 'Routes per route table',
          Value: value,
          Unit: 'None',
          Adjustable: true,
          GlobalQuota: false,
        },
      },
      rid,
    );
  }

  function targetOf(h: EmuRequest['headers']): string | undefined {
    const t = h['x-amz-target'];
    return Array.isArray(t) ? t[0] : t;
  }

  const admin = awsAdmin({
    vpc,
    inventory,
    defaultTags,
    mainTable: rtMain,
    withEnis,
    applyQuota: (limit) => {
      applied = limit;
    },
  });

  return {
    kind: 'aws',
    metadata: awsMetadata(() => clock.now()),
    topology: {
      region: EMULATOR_TOPOLOGY.region,
      vpcId: EMULATOR_TOPOLOGY.vpcId,
      tables: EMULATOR_TOPOLOGY.tables,
      credentials: { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_EC2_METADATA_DISABLED: 'true' },
      credentialsRule:
        'any access key and secret (SigV4 signatures are not checked; an Authorization header must be present)',
    },
    identify(req) {
      const target = targetOf(req.headers);
      const client = accessKeyOf(req.headers.authorization);
      if (target !== undefined) return { action: target.split('.').pop() ?? target, client, mutating: false };
      const p = parseForm(req.body, req.url.searchParams);
      const action = p.get('Action') ?? 'Unknown';
      return { action, client, mutating: MUTATING.has(action) };
    },
    async handle(req, action) {
      const rid = requestId();
      if (targetOf(req.headers) !== undefined) return serviceQuotas(action, req.body, rid);
      if (req.headers.authorization === undefined) {
        return xmlError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401, rid);
      }
      if (!bucket(action).tryTake()) return xmlError('RequestLimitExceeded', 'Request limit exceeded.', 503, rid);
      try {
        return ec2(action, parseForm(req.body, req.url.searchParams), rid, req.paging);
      } catch (e) {
        if (e instanceof Ec2Fault) return xmlError(e.code, e.message, e.status, rid);
        throw e;
      }
    },
    hostileResponse: hostileAws,
    faultResponse(error, action) {
      const rid = requestId();
      const json = action === 'GetServiceQuota' || action === 'GetAWSDefaultServiceQuota';
      const [code, msg, status] =
        error === 'throttle'
          ? json
            ? (['TooManyRequestsException', 'Rate exceeded', 400] as const)
            : (['RequestLimitExceeded', 'Request limit exceeded.', 503] as const)
          : error === '5xx'
            ? (['InternalError', 'An internal error has occurred', 500] as const)
            : ([error, `injected ${error}`, STATUS_OF[error] ?? 400] as const);
      return json ? jsonError(code, msg, status, rid) : xmlError(code, msg, status, rid);
    },
    latencyMs(_action, mutating) {
      // Jitter from the seeded rng keeps runs reproducible.
      return drawMs(mutating ? profile.mutatingLatency : profile.describeLatency, rng);
    },
    admin,
  };
};

const STATUS_OF: Record<string, number> = {
  RequestLimitExceeded: 503,
  Unavailable: 503,
  ServiceUnavailable: 503,
  InternalError: 500,
  AuthFailure: 401,
  UnauthorizedOperation: 403,
};
