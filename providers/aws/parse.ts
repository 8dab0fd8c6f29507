// SDK outputs → routesync's Instance / Route, checking every field a real EC2 answer always carries:
// a response missing them is malformed, never "no instances" or "no routes".
import type { DescribeInstancesCommandOutput, Route as Ec2Route, RouteTable as Ec2Table } from '@aws-sdk/client-ec2';
import { isCidr } from '../../src/lib/cidr.ts';
import type { Instance, Route, RouteState } from '../types.ts';
import type { EniDirectory } from './enis.ts';
import { malformed } from './errors.ts';

const STATES: Record<string, Instance['state']> = {
  pending: 'pending',
  running: 'running',
  'shutting-down': 'stopping',
  stopping: 'stopping',
  stopped: 'stopped',
  terminated: 'terminated',
};

export interface InstancePage {
  instances: Array<Instance & { vpcId: string | undefined }>;
  nextToken: string | undefined;
}

/** `enis` learns each instance's network interfaces from the page. */
export function parseInstancesPage(out: DescribeInstancesCommandOutput, enis?: EniDirectory): InstancePage {
  const rid = out.$metadata?.requestId;
  const bad = (what: string) => malformed('DescribeInstances', what, rid);
  if (!Array.isArray(out.Reservations)) throw bad('no reservationSet');
  const instances: InstancePage['instances'] = [];
  for (const res of out.Reservations) {
    if (!Array.isArray(res.Instances)) throw bad('reservation without instancesSet');
    for (const i of res.Instances) {
      if (typeof i.InstanceId !== 'string' || i.InstanceId === '') throw bad('instance without instanceId');
      const state = STATES[i.State?.Name ?? ''];
      if (state === undefined) throw bad(`instance ${i.InstanceId} has no known instanceState`);
      // EC2 drops the address of terminated instances; any other state without one is a broken answer.
      if (
        i.PrivateIpAddress !== undefined &&
        (typeof i.PrivateIpAddress !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(i.PrivateIpAddress))
      ) {
        throw bad(`instance ${i.InstanceId} has privateIpAddress ${JSON.stringify(i.PrivateIpAddress)}`);
      }
      if (i.PrivateIpAddress === undefined && state !== 'terminated')
        throw bad(`instance ${i.InstanceId} has no privateIpAddress`);
      enis?.learn(i);
      const name = i.Tags?.find((t) => t.Key === 'Name')?.Value;
      instances.push({
        id: i.InstanceId,
        name: name ?? i.InstanceId,
        privateIp: i.PrivateIpAddress ?? '',
        zone: i.Placement?.AvailabilityZone ?? '',
        state,
        vpcId: i.VpcId,
      });
    }
  }
  return { instances, nextToken: out.NextToken || undefined };
}

export function checkTables(tables: Ec2Table[] | undefined, action: string, requestId?: string): Ec2Table[] {
  if (!Array.isArray(tables)) throw malformed(action, 'no routeTableSet', requestId);
  for (const t of tables) {
    if (typeof t.RouteTableId !== 'string') throw malformed(action, 'route table without routeTableId', requestId);
    if (!Array.isArray(t.Routes)) throw malformed(action, `route table ${t.RouteTableId} without routeSet`, requestId);
  }
  return tables;
}

/** Associated with a subnet or the VPC's main table: the tables that route the VPC's traffic. */
export function isInUse(t: Ec2Table): boolean {
  return (t.Associations ?? []).some((a) => a.Main === true || typeof a.SubnetId === 'string');
}

/** What a route's fields alone do not say: whose an ENI is, how many entries a prefix list may hold. */
export interface RouteContext {
  enis?: EniDirectory;
  /** Prefix list id → the IPv4 route slots a route to it takes (its max entries; 0 for an IPv6 list). */
  prefixListSlots?: ReadonlyMap<string, number>;
}

export function toRoute(tableId: string, r: Ec2Route, requestId?: string, ctx: RouteContext = {}): Route {
  const destination = r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId;
  if (destination === undefined)
    throw malformed('DescribeRouteTables', `a route of ${tableId} has no destination`, requestId);
  if (r.DestinationCidrBlock !== undefined && !isCidr(r.DestinationCidrBlock)) {
    throw malformed(
      'DescribeRouteTables',
      `route of ${tableId} has destination ${JSON.stringify(r.DestinationCidrBlock)}, not a CIDR`,
      requestId,
    );
  }
  if (r.InstanceId !== undefined && typeof r.InstanceId !== 'string')
    throw malformed('DescribeRouteTables', `route ${destination} has a non-string instanceId`, requestId);
  const state = r.State as RouteState | undefined;
  if (state !== 'active' && state !== 'blackhole')
    throw malformed(
      'DescribeRouteTables',
      `route ${destination} of ${tableId} has state ${String(r.State)}`,
      requestId,
    );
  // EC2 names the instance of an attached ENI; moto (and a route whose ENI is gone) names the ENI alone.
  const target =
    r.InstanceId ??
    (r.NetworkInterfaceId !== undefined ? ctx.enis?.ownerOf(r.NetworkInterfaceId)?.instanceId : undefined) ??
    null;
  const nextHop =
    r.InstanceId ??
    r.GatewayId ??
    r.NatGatewayId ??
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.NetworkInterfaceId ??
    r.EgressOnlyInternetGatewayId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.CoreNetworkArn ??
    'unknown';
  // Only IPv4 routes to an instance or an ENI can be ours (I2: decided by rule from the target, marked null).
  // The local route, propagated routes and the non-IPv4 ones are the VPC's plumbing and never change; an
  // active route to a gateway is too. A blackhole never is: whatever left it must be able to clear it, so a
  // gateway's blackhole is a foreign route (a conflict, adoptable) rather than one that holds its subnet
  // forever, and an ENI's blackhole without an instance id is still ours (terraform#6076).
  const plumbing =
    r.GatewayId === 'local' ||
    r.Origin === 'CreateRouteTable' ||
    r.Origin === 'EnableVgwRoutePropagation' ||
    r.DestinationCidrBlock === undefined;
  const viaInstance = r.InstanceId !== undefined || r.NetworkInterfaceId !== undefined;
  const system = plumbing || (!viaInstance && state !== 'blackhole');
  const marked = plumbing || viaInstance ? null : false;
  const route: Route = { table: tableId, destination, target, nextHop, state, marked, system };
  const weight = quotaWeight(r, ctx);
  if (weight !== 1) route.quotaWeight = weight;
  return route;
}

/** How many of "Routes per route table" (IPv4) the route takes (see providers/aws/quota.ts). */
function quotaWeight(r: Ec2Route, ctx: RouteContext): number {
  if (r.GatewayId === 'local' || r.Origin === 'EnableVgwRoutePropagation') return 0;
  if (r.DestinationPrefixListId !== undefined) return ctx.prefixListSlots?.get(r.DestinationPrefixListId) ?? 1;
  return r.DestinationCidrBlock === undefined ? 0 : 1;
}
