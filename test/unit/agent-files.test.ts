import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { gatewayOf, renderCniConflist, renderSubnetEnv } from '../../src/agent/files.ts';
import { parseIpMasqConfig } from '../../src/agent/ipmasq.ts';
import { defaultInterface, interfaceMtu } from '../../src/agent/mtu.ts';
import { formatCidr, nthSubnet, parseCidr } from '../../src/lib/cidr.ts';

const dir = mkdtempSync(join(tmpdir(), 'rs-agent-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('subnet.env and CNI conflist', () => {
  it('FLANNEL_SUBNET is the first address of every subnet, with its length (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 17, max: 30 }), fc.nat(), (len, i) => {
        const subnet = formatCidr(nthSubnet(parseCidr('10.244.0.0/16'), len, i % 2 ** (len - 16)));
        const env = renderSubnetEnv({ clusterCIDR: '10.244.0.0/16', subnet, mtu: 1500 });
        expect(env).toContain(`FLANNEL_SUBNET=${gatewayOf(subnet)}/${len}\n`);
        expect(parseCidr(`${gatewayOf(subnet).replace(/\d+$/, (d) => String(Number(d) - 1))}/${len}`)).toEqual(
          parseCidr(subnet),
        );
      }),
    );
  });

  it('the conflist is the bridge plugin with host-local over the subnet and ipMasq off', () => {
    const conf = JSON.parse(
      renderCniConflist(
        { clusterCIDR: '10.244.0.0/16', subnet: '10.244.9.0/24', mtu: 9001 },
        { name: 'rs', bridge: 'br-rs' },
      ),
    );
    expect(conf).toEqual({
      cniVersion: '1.0.0',
      name: 'rs',
      plugins: [
        {
          type: 'bridge',
          bridge: 'br-rs',
          isGateway: true,
          isDefaultGateway: true,
          ipMasq: false,
          hairpinMode: true,
          mtu: 9001,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.9.0/24', gateway: '10.244.9.1' }]] },
        },
      ],
    });
  });
});

describe('ip-masq-agent config file', () => {
  it('takes its keys as they are (YAML or JSON)', () => {
    expect(
      parseIpMasqConfig(
        'nonMasqueradeCIDRs:\n  - 10.0.0.0/8\nmasqLinkLocal: true\nresyncInterval: 60s\nmasqLinkLocalIPv6: false\n',
        'f',
      ),
    ).toEqual({ nonMasqueradeCIDRs: ['10.0.0.0/8'], masqLinkLocal: true, resyncInterval: 60_000 });
    expect(parseIpMasqConfig('{"nonMasqueradeCIDRs": ["192.168.0.0/16"]}', 'f')).toEqual({
      nonMasqueradeCIDRs: ['192.168.0.0/16'],
    });
    expect(parseIpMasqConfig('', 'f')).toEqual({});
  });

  it('names the file and the key of each problem', () => {
    expect(() => parseIpMasqConfig('nonMasqueradeCIDR: []', '/etc/ipm')).toThrow(
      'agent.ipMasqAgentConfig: /etc/ipm: nonMasqueradeCIDR: unknown key',
    );
    expect(() => parseIpMasqConfig('nonMasqueradeCIDRs: [garbage]', '/etc/ipm')).toThrow(
      'agent.ipMasqAgentConfig: /etc/ipm: nonMasqueradeCIDRs.0: "garbage" is not a valid IPv4 CIDR',
    );
    expect(() => parseIpMasqConfig('masqLinkLocal: yes please', '/etc/ipm')).toThrow(
      'masqLinkLocal: must be true or false',
    );
    expect(() => parseIpMasqConfig('resyncInterval: 60', '/etc/ipm')).toThrow(
      'resyncInterval: 60 is not a duration such as 60s',
    );
    expect(() => parseIpMasqConfig('- a\n- b', '/etc/ipm')).toThrow('must be a mapping');
  });
});

describe('MTU', () => {
  it("comes from the default route's interface", async () => {
    const route = join(dir, 'route');
    writeFileSync(
      route,
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nens5\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\nens5\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n',
    );
    expect(await defaultInterface(route)).toBe('ens5');
    mkdirSync(join(dir, 'net/ens5'), { recursive: true });
    writeFileSync(join(dir, 'net/ens5/mtu'), '9001\n');
    expect(await interfaceMtu('ens5', join(dir, 'net'))).toBe(9001);
  });

  it('says what to set when there is no default route or no such interface', async () => {
    const route = join(dir, 'route-none');
    writeFileSync(route, 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n');
    await expect(defaultInterface(route)).rejects.toThrow('no IPv4 default route: set agent.interface (or agent.mtu)');
    await expect(interfaceMtu('eth9', join(dir, 'net'))).rejects.toThrow(
      'agent.interface: no interface eth9 on this host (or set agent.mtu)',
    );
  });
});
