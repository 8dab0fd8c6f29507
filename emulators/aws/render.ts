// XML shapes of the EC2 describe responses the emulator serves (the fields the SDK's deserializer reads).
import type { EmuInstance } from '../shared/inventory.ts';
import type { EniView } from './enis.ts';
import { el, set, text } from './wire.ts';
import {
  ACCOUNT_ID,
  isIpv6,
  isPrefixList,
  type EmuPrefixList,
  type EmuRoute,
  type EmuTable,
  type VpcState,
} from './state.ts';

const STATE_CODES: Record<string, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export function routeXml(vpc: VpcState, r: EmuRoute): string {
  // Like EC2: a route to an attached ENI names its instance too; one whose ENI is gone names the ENI alone.
  const instanceId = vpc.instanceOf(r);
  const dest = isPrefixList(r.destination)
    ? text('destinationPrefixListId', r.destination)
    : isIpv6(r.destination)
      ? text('destinationIpv6CidrBlock', r.destination)
      : text('destinationCidrBlock', r.destination);
  return [
    dest,
    text('gatewayId', r.gatewayId),
    text('instanceId', instanceId),
    instanceId !== undefined ? text('instanceOwnerId', ACCOUNT_ID) : '',
    text('natGatewayId', r.natGatewayId),
    text('transitGatewayId', r.transitGatewayId),
    text('vpcPeeringConnectionId', r.vpcPeeringConnectionId),
    text('networkInterfaceId', r.networkInterfaceId),
    text('state', vpc.stateOf(r)),
    text('origin', r.origin),
  ].join('');
}

export function tableXml(vpc: VpcState, t: EmuTable): string {
  const assoc: string[] = [];
  if (t.main) {
    assoc.push(
      text('routeTableAssociationId', t.associationIds[0]) +
        text('routeTableId', t.id) +
        el('main', true) +
        '<associationState><state>associated</state></associationState>',
    );
  }
  t.subnetIds.forEach((s, i) => {
    assoc.push(
      text('routeTableAssociationId', t.associationIds[i + (t.main ? 1 : 0)]) +
        text('routeTableId', t.id) +
        text('subnetId', s) +
        el('main', false) +
        '<associationState><state>associated</state></associationState>',
    );
  });
  return [
    text('routeTableId', t.id),
    text('vpcId', t.vpcId),
    text('ownerId', ACCOUNT_ID),
    set(
      'routeSet',
      t.routes.map((r) => routeXml(vpc, r)),
    ),
    set('associationSet', assoc),
    '<propagatingVgwSet/>',
    '<tagSet/>',
  ].join('');
}

export function eniXml(eni: EniView, vpcId: string, subnetId: string, ip: string | undefined): string {
  return [
    text('networkInterfaceId', eni.id),
    text('subnetId', subnetId),
    text('vpcId', vpcId),
    text('ownerId', ACCOUNT_ID),
    text('status', eni.inUse ? 'in-use' : 'available'),
    ip !== undefined ? text('privateIpAddress', ip) : '',
    el('sourceDestCheck', eni.sourceDestCheck),
    eni.instanceId !== undefined
      ? `<attachment>${text('attachmentId', `eni-attach-${eni.id.slice(4)}`)}${el('deviceIndex', eni.deviceIndex)}${text('instanceId', eni.instanceId)}${text('instanceOwnerId', ACCOUNT_ID)}${text('status', 'attached')}${el('deleteOnTermination', eni.deviceIndex === 0)}</attachment>`
      : '',
  ].join('');
}

export function prefixListXml(pl: EmuPrefixList): string {
  return [
    text('prefixListId', pl.id),
    text('addressFamily', pl.addressFamily),
    text('state', 'create-complete'),
    text('prefixListArn', `arn:aws:ec2:us-east-1:${ACCOUNT_ID}:prefix-list/${pl.id}`),
    text('prefixListName', pl.id),
    el('maxEntries', pl.maxEntries),
    el('version', 1),
    text('ownerId', ACCOUNT_ID),
  ].join('');
}

export function instanceXml(vpc: VpcState, i: EmuInstance, vpcId: string, subnetId: string): string {
  const name = i.state;
  const live = i.state !== 'terminated';
  return [
    text('instanceId', i.id),
    text('imageId', 'ami-0abcdef1234567890'),
    `<instanceState>${el('code', STATE_CODES[name] ?? 16)}${text('name', name)}</instanceState>`,
    text('privateDnsName', live ? `ip-${i.privateIp.replace(/\./g, '-')}.ec2.internal` : ''),
    text('instanceType', 't3.medium'),
    `<placement>${text('availabilityZone', i.zone)}<tenancy>default</tenancy></placement>`,
    // Terminated instances lose their network attachment: EC2 omits the address and the subnet.
    live ? text('subnetId', subnetId) + text('vpcId', vpcId) + text('privateIpAddress', i.privateIp) : '',
    el('sourceDestCheck', i.sourceDestCheck),
    set(
      'networkInterfaceSet',
      vpc.enis.of(i).map((e) => eniXml(e, vpcId, subnetId, e.deviceIndex === 0 ? i.privateIp : undefined)),
    ),
    set(
      'tagSet',
      Object.entries(i.tags).map(([k, v]) => text('key', k) + text('value', v)),
    ),
  ].join('');
}

export function reservationXml(vpc: VpcState, i: EmuInstance, vpcId: string, subnetId: string): string {
  return (
    text('reservationId', `r-${i.id.slice(2)}`) +
    text('ownerId', ACCOUNT_ID) +
    '<groupSet/>' +
    set('instancesSet', [instanceXml(vpc, i, vpcId, subnetId)])
  );
}
