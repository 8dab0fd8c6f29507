// providers/aws/parse.ts toRoute: which EC2 routes can be ours, and what each takes from the IPv4 quota.
import { describe, expect, it } from 'vitest';
import { EniDirectory } from '../../providers/aws/enis.ts';
import { toRoute } from '../../providers/aws/parse.ts';
import { usedSlots } from '../../providers/aws/quota.ts';
import { classifyRoute } from '../../src/ownership.ts';

const own = { clusterCIDR: '172.16.0.0/16', subnetLen: 24, knownInstanceIds: new Set(['i-0aaa']) };
const T = 'rtb-1';

describe('aws toRoute', () => {
  it('a blackhole is never a system route: an ENI-only one is ours, a gateway one foreign', () => {
    const eni = toRoute(T, {
      DestinationCidrBlock: '172.16.1.0/24',
      NetworkInterfaceId: 'eni-0gone',
      State: 'blackhole',
      Origin: 'CreateRoute',
    });
    expect(eni).toMatchObject({ system: false, target: null, marked: null, nextHop: 'eni-0gone' });
    expect(classifyRoute(eni, own)).toBe('ours');
    const nat = toRoute(T, {
      DestinationCidrBlock: '172.16.2.0/24',
      NatGatewayId: 'nat-0gone',
      State: 'blackhole',
      Origin: 'CreateRoute',
    });
    expect(nat).toMatchObject({ system: false, marked: false });
    expect(classifyRoute(nat, own)).toBe('foreign');
    // An active gateway route stays plumbing.
    const igw = toRoute(T, {
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: 'igw-1',
      State: 'active',
      Origin: 'CreateRoute',
    });
    expect(igw.system).toBe(true);
  });

  it('an ENI-only route is attributed to the instance the ENI belongs to', () => {
    const enis = new EniDirectory();
    enis.learn({
      InstanceId: 'i-0aaa',
      NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0a', Attachment: { DeviceIndex: 0 } }],
    });
    expect(enis.primaryOf('i-0aaa')).toBe('eni-0a');
    const r = toRoute(
      T,
      { DestinationCidrBlock: '172.16.3.0/24', NetworkInterfaceId: 'eni-0a', State: 'active', Origin: 'CreateRoute' },
      undefined,
      { enis },
    );
    expect(r).toMatchObject({ target: 'i-0aaa', system: false });
    expect(classifyRoute(r, own)).toBe('ours');
    const foreign = toRoute(T, {
      DestinationCidrBlock: '172.16.4.0/24',
      NetworkInterfaceId: 'eni-0other',
      State: 'active',
      Origin: 'CreateRoute',
    });
    expect(classifyRoute(foreign, own)).toBe('foreign');
  });

  it('counts IPv4 routes against the quota: not local, propagated or IPv6; a prefix list as its max entries', () => {
    const routes = [
      toRoute(T, {
        DestinationCidrBlock: '10.0.0.0/16',
        GatewayId: 'local',
        State: 'active',
        Origin: 'CreateRouteTable',
      }),
      toRoute(T, {
        DestinationCidrBlock: '172.16.1.0/24',
        InstanceId: 'i-0aaa',
        State: 'active',
        Origin: 'CreateRoute',
      }),
      toRoute(T, {
        DestinationCidrBlock: '192.168.0.0/24',
        GatewayId: 'vgw-1',
        State: 'active',
        Origin: 'EnableVgwRoutePropagation',
      }),
      toRoute(T, {
        DestinationIpv6CidrBlock: '2600::/64',
        GatewayId: 'eigw-1',
        State: 'active',
        Origin: 'CreateRoute',
      }),
      toRoute(
        T,
        { DestinationPrefixListId: 'pl-1', TransitGatewayId: 'tgw-1', State: 'active', Origin: 'CreateRoute' },
        undefined,
        { prefixListSlots: new Map([['pl-1', 12]]) },
      ),
    ];
    expect(routes.map((r) => r.quotaWeight ?? 1)).toEqual([0, 1, 0, 0, 12]);
    expect(usedSlots(routes)).toBe(13);
  });
});
