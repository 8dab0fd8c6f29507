// The VPC model behind the AWS emulator: one VPC, its route tables and their routes, with EC2's own rules
// (one route per destination, a local route that cannot be touched, a per-table route limit, routes to a
// terminated instance turning blackhole).
import { isCidr } from '../../src/lib/cidr.ts';
import type { EmuInventory } from '../shared/inventory.ts';
import { Ec2Fault } from './wire.ts';

export const ACCOUNT_ID = '123456789012';

export interface EmuRoute {
  destination: string;
  instanceId?: string;
  networkInterfaceId?: string;
  gatewayId?: string;
  natGatewayId?: string;
  transitGatewayId?: string;
  vpcPeeringConnectionId?: string;
  origin: 'CreateRouteTable' | 'CreateRoute';
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

export type RouteTarget = { instanceId: string } | { hop: string };

export class VpcState {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly tables: EmuTable[];
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

  /** EC2 reports a route whose instance is gone as blackhole; nothing is stored, it is derived on read. */
  stateOf(r: EmuRoute): 'active' | 'blackhole' {
    if (r.instanceId !== undefined && this.inventory.get(r.instanceId)?.state === 'terminated') return 'blackhole';
    return 'active';
  }

  /** Routes that count against "Routes per route table" (the local route does not). */
  used(t: EmuTable): number {
    return t.routes.filter((r) => r.gatewayId !== 'local').length;
  }

  eniOf(instanceId: string): string {
    return `eni-${instanceId.slice(2)}`;
  }

  private checkDestination(dest: string): void {
    if (!isCidr(dest)) {
      throw new Ec2Fault(
        'InvalidParameterValue',
        `Value (${dest}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`,
      );
    }
  }

  private routeFor(dest: string, target: RouteTarget): EmuRoute {
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
      return { destination: dest, instanceId: inst.id, networkInterfaceId: this.eniOf(inst.id), origin: 'CreateRoute' };
    }
    return { destination: dest, ...hopFields(target.hop), origin: 'CreateRoute' };
  }

  create(tableId: string, dest: string, target: RouteTarget, enforceQuota = true): EmuRoute {
    this.checkDestination(dest);
    const t = this.table(tableId);
    if (t.routes.some((r) => r.destination === dest)) {
      throw new Ec2Fault('RouteAlreadyExists', `The route identified by ${dest} already exists.`);
    }
    const route = this.routeFor(dest, target);
    if (enforceQuota && this.used(t) >= t.quota) {
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
    const route = this.routeFor(dest, target);
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

/** A free-form next hop goes to the field EC2 would use for that resource type. */
export function hopFields(hop: string): Partial<EmuRoute> {
  if (hop.startsWith('eni-')) return { networkInterfaceId: hop };
  if (hop.startsWith('nat-')) return { natGatewayId: hop };
  if (hop.startsWith('tgw-')) return { transitGatewayId: hop };
  if (hop.startsWith('pcx-')) return { vpcPeeringConnectionId: hop };
  return { gatewayId: hop };
}

export function nextHopOf(r: EmuRoute): string {
  return (
    r.instanceId ??
    r.gatewayId ??
    r.natGatewayId ??
    r.transitGatewayId ??
    r.vpcPeeringConnectionId ??
    r.networkInterfaceId ??
    'unknown'
  );
}
