// The VPC model behind the AWS emulator: one VPC, its route tables and their routes, with EC2's own rules
// (one route per destination, a local route that cannot be touched, a per-table route limit, routes to a
// gone network interface turning blackhole). A route to an instance is a route to one of its ENIs, as on
// EC2: CreateRoute with InstanceId resolves to the primary ENI (and is refused for an instance with several),
// and the route answers with both ids while the ENI is attached, with the ENI id alone once it is not.
import { isCidr } from '../../src/lib/cidr.ts';
import type { EmuInventory } from '../shared/inventory.ts';
import { EniTable } from './enis.ts';
import { Ec2Fault } from './wire.ts';

export const ACCOUNT_ID = '123456789012';

export type RouteOrigin = 'CreateRouteTable' | 'CreateRoute' | 'EnableVgwRoutePropagation';

export interface EmuRoute {
  /** An IPv4 CIDR, an IPv6 CIDR or a prefix list id (pl-…). */
  destination: string;
  networkInterfaceId?: string;
  gatewayId?: string;
  natGatewayId?: string;
  transitGatewayId?: string;
  vpcPeeringConnectionId?: string;
  origin: RouteOrigin;
}

export interface EmuTable {
  id: string;
  vpcId: string;
  main: boolean;
  subnetIds: string[];
  associationIds: string[];
  routes: EmuRoute[];
  quota: number;
}

export interface EmuPrefixList {
  id: string;
  maxEntries: number;
  addressFamily: 'IPv4' | 'IPv6';
}

export type RouteTarget = { instanceId: string } | { networkInterfaceId: string } | { hop: string };

export const isIpv6 = (dest: string) => dest.includes(':');
export const isPrefixList = (dest: string) => dest.startsWith('pl-');

export class VpcState {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly tables: EmuTable[];
  readonly enis: EniTable;
  readonly prefixLists = new Map<string, EmuPrefixList>();
  private readonly inventory: EmuInventory;

  constructor(opts: {
    vpcId: string;
    vpcCidr: string;
    tables: Array<Omit<EmuTable, 'routes' | 'quota'>>;
    quota: number;
    inventory: EmuInventory;
  }) {
    this.vpcId = opts.vpcId;
    this.vpcCidr = opts.vpcCidr;
    this.inventory = opts.inventory;
    this.enis = new EniTable(opts.inventory);
    this.tables = opts.tables.map((t) => ({
      ...t,
      quota: opts.quota,
      routes: [{ destination: opts.vpcCidr, gatewayId: 'local', origin: 'CreateRouteTable' }],
    }));
  }

  table(id: string): EmuTable {
    const t = this.tables.find((x) => x.id === id);
    if (!t) throw new Ec2Fault('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`);
    return t;
  }

  /** The instance a route reaches through its ENI, while that ENI is attached. */
  instanceOf(r: EmuRoute): string | undefined {
    return r.networkInterfaceId === undefined ? undefined : this.enis.get(r.networkInterfaceId)?.instanceId;
  }

  /** A route to an ENI that is gone or detached is blackhole; nothing is stored, it is derived on read. */
  stateOf(r: EmuRoute): 'active' | 'blackhole' {
    if (r.networkInterfaceId !== undefined && !this.enis.get(r.networkInterfaceId)?.inUse) return 'blackhole';
    return 'active';
  }

  /**
   * How many of "Routes per route table" (IPv4) a route takes: IPv6 routes have their own count, propagated
   * routes their own quota, the local route none; a prefix list counts as its max entries (VPC quotas page).
   */
  weight(r: EmuRoute): number {
    if (r.gatewayId === 'local' || r.origin === 'EnableVgwRoutePropagation') return 0;
    if (isPrefixList(r.destination)) {
      const pl = this.prefixLists.get(r.destination);
      return pl && pl.addressFamily === 'IPv4' ? pl.maxEntries : 0;
    }
    return isIpv6(r.destination) ? 0 : 1;
  }

  /** Routes that count against the table's IPv4 route quota. */
  used(t: EmuTable): number {
    return t.routes.reduce((n, r) => n + this.weight(r), 0);
  }

  private checkDestination(dest: string): void {
    if (!isCidr(dest)) {
      throw new Ec2Fault(
        'InvalidParameterValue',
        `Value (${dest}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`,
      );
    }
  }

  private routeFor(dest: string, target: RouteTarget, api: boolean): EmuRoute {
    if ('instanceId' in target) {
      const inst = this.inventory.get(target.instanceId);
      if (!inst)
        throw new Ec2Fault('InvalidInstanceID.NotFound', `The instance ID '${target.instanceId}' does not exist`);
      if (inst.state === 'terminated') {
        throw new Ec2Fault(
          'IncorrectInstanceState',
          `The instance '${target.instanceId}' is not in a state from which it can be used as a route target.`,
        );
      }
      // EC2 cannot choose among several interfaces (kubernetes#70924): the caller must name one.
      if (api && this.enis.count(inst.id) > 1) throw multipleInterfaces(inst.id);
      return { destination: dest, networkInterfaceId: this.enis.primaryId(inst.id), origin: 'CreateRoute' };
    }
    if ('networkInterfaceId' in target) {
      if (!this.enis.get(target.networkInterfaceId))
        throw new Ec2Fault(
          'InvalidNetworkInterfaceID.NotFound',
          `The networkInterface ID '${target.networkInterfaceId}' does not exist`,
        );
      return { destination: dest, networkInterfaceId: target.networkInterfaceId, origin: 'CreateRoute' };
    }
    const fields = hopFields(target.hop);
    if (fields.networkInterfaceId !== undefined) this.enis.addForeign(fields.networkInterfaceId);
    return { destination: dest, ...fields, origin: 'CreateRoute' };
  }

  /** `api`: a CreateRoute call (EC2's checks); otherwise an out-of-band route the admin API puts there. */
  create(
    tableId: string,
    dest: string,
    target: RouteTarget,
    api = true,
    origin: RouteOrigin = 'CreateRoute',
  ): EmuRoute {
    if (api || (!isIpv6(dest) && !isPrefixList(dest))) this.checkDestination(dest);
    const t = this.table(tableId);
    if (t.routes.some((r) => r.destination === dest)) {
      throw new Ec2Fault('RouteAlreadyExists', `The route identified by ${dest} already exists.`);
    }
    const route = { ...this.routeFor(dest, target, api), origin };
    if (api && this.used(t) + this.weight(route) > t.quota) {
      throw new Ec2Fault('RouteLimitExceeded', `The maximum number of routes has been reached.`);
    }
    t.routes.push(route);
    return route;
  }

  replace(tableId: string, dest: string, target: RouteTarget): EmuRoute {
    this.checkDestination(dest);
    const t = this.table(tableId);
    const i = t.routes.findIndex((r) => r.destination === dest);
    if (i < 0)
      throw new Ec2Fault(
        'InvalidParameterValue',
        `There is no route defined for '${dest}' in the route table. Use CreateRoute instead.`,
      );
    if (t.routes[i]?.gatewayId === 'local')
      throw new Ec2Fault('InvalidParameterValue', `cannot replace local route ${dest} in route table ${tableId}`);
    const route = this.routeFor(dest, target, true);
    t.routes[i] = route;
    return route;
  }

  delete(tableId: string, dest: string): void {
    this.checkDestination(dest);
    const t = this.table(tableId);
    const i = t.routes.findIndex((r) => r.destination === dest);
    if (i < 0)
      throw new Ec2Fault(
        'InvalidRoute.NotFound',
        `no route with destination-cidr-block ${dest} in route table ${tableId}`,
      );
    if (t.routes[i]?.gatewayId === 'local')
      throw new Ec2Fault('InvalidParameterValue', `cannot remove local route ${dest} in route table ${tableId}`);
    t.routes.splice(i, 1);
  }
}

/** EC2's answer to an InstanceId target (route or source/dest check) on an instance with several ENIs. */
export function multipleInterfaces(instanceId: string): Ec2Fault {
  return new Ec2Fault(
    'InvalidInstanceID',
    `There are multiple interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`,
  );
}

/** A free-form next hop goes to the field EC2 would use for that resource type. */
export function hopFields(hop: string): Partial<EmuRoute> {
  if (hop.startsWith('eni-')) return { networkInterfaceId: hop };
  if (hop.startsWith('nat-')) return { natGatewayId: hop };
  if (hop.startsWith('tgw-')) return { transitGatewayId: hop };
  if (hop.startsWith('pcx-')) return { vpcPeeringConnectionId: hop };
  return { gatewayId: hop };
}

export function nextHopOf(vpc: VpcState, r: EmuRoute): string {
  return (
    vpc.instanceOf(r) ??
    r.gatewayId ??
    r.natGatewayId ??
    r.transitGatewayId ??
    r.vpcPeeringConnectionId ??
    r.networkInterfaceId ??
    'unknown'
  );
}
