// The agent's rule set applied with the real iptables-restore inside a network namespace the test makes,
// next to rules of other tools that must survive every sync and the cleanup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Iptables } from '../../src/agent/iptables.ts';
import { defaultNonMasquerade, renderRules, type RuleSet } from '../../src/agent/rules.ts';
import { NetnsKit } from '../../testkit/netns.ts';

const FOREIGN = [
  ['-t', 'nat', '-N', 'OTHER-POSTRTG'],
  ['-t', 'nat', '-A', 'OTHER-POSTRTG', '-s', '192.0.2.0/24', '-j', 'MASQUERADE'],
  ['-t', 'nat', '-A', 'POSTROUTING', '-j', 'OTHER-POSTRTG'],
  ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '9999', '-j', 'DNAT', '--to-destination', '192.0.2.9:99'],
  ['-t', 'filter', '-A', 'FORWARD', '-s', '198.51.100.0/24', '-j', 'DROP'],
  ['-t', 'filter', '-N', 'OTHER-FWD'],
  ['-t', 'filter', '-A', 'OTHER-FWD', '-j', 'RETURN'],
  ['-t', 'filter', '-I', 'FORWARD', '1', '-j', 'OTHER-FWD'],
];

const rules = (endpoints: string[], port = 8080): RuleSet =>
  renderRules({
    clusterCIDR: '10.244.0.0/16',
    nonMasqueradeCIDRs: defaultNonMasquerade('10.244.0.0/16', ['10.0.0.0/16']),
    masqLinkLocal: false,
    randomFully: true,
    ingress: endpoints.length ? [{ port, protocol: 'tcp', endpoints }] : [],
  });

describe('agent iptables in a network namespace', () => {
  let kit: NetnsKit;
  let ns: string;
  let ipt: Iptables;
  let foreign: () => string[];

  beforeAll(() => {
    kit = new NetnsKit();
    ns = kit.add('ipt');
    for (const args of FOREIGN) kit.exec(ns, ['iptables', ...args]);
    ipt = new Iptables({ prefix: ['ip', 'netns', 'exec', ns] });
    // Everything in the save that is not ours, without the counters and timestamps.
    foreign = () =>
      kit
        .exec(ns, ['iptables-save'])
        .split('\n')
        .filter((l) => !l.startsWith('#') && !l.includes('ROUTESYNC-'));
  });
  afterAll(() => kit?.teardown());

  it('installs the whole set in one restore, leaves foreign rules as they were, and is then in place', async () => {
    const before = foreign();
    const first = await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80']));
    expect(first.changed).toBe(true);
    const save = kit.exec(ns, ['iptables-save']);
    expect(save).toContain(
      '-A ROUTESYNC-POSTRTG -s 10.244.0.0/16 -m comment --comment "routesync: masquerade" -j MASQUERADE --random-fully',
    );
    expect(save).toContain('--probability 0.50000000000 -j DNAT --to-destination 10.244.1.2:80');
    expect(foreign()).toEqual(before);
    expect(await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80']))).toEqual({ changed: false });
  });

  it('restores after an outside flush of our chain and after our jump is deleted', async () => {
    const before = foreign();
    kit.exec(ns, ['iptables', '-t', 'nat', '-F', 'ROUTESYNC-POSTRTG']);
    expect((await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80']))).changed).toBe(true);
    kit.exec(ns, [
      'iptables',
      '-t',
      'filter',
      '-D',
      'FORWARD',
      '-m',
      'comment',
      '--comment',
      'routesync: forward',
      '-j',
      'ROUTESYNC-FORWARD',
    ]);
    expect((await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80']))).changed).toBe(true);
    // A whole-table flush by another tool (iptables -t nat -F) leaves empty chains: all back in one sync.
    kit.exec(ns, ['iptables', '-t', 'nat', '-F']);
    expect((await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80']))).changed).toBe(true);
    for (const args of FOREIGN.filter((a) => a[1] === 'nat' && a[2] !== '-N')) kit.exec(ns, ['iptables', ...args]);
    expect(await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80']))).toEqual({ changed: false });
    expect(foreign()).toEqual(before);
    const save = kit.exec(ns, ['iptables-save']);
    expect(save.match(/-j ROUTESYNC-POSTRTG/g)).toHaveLength(1);
    expect(save.match(/-j ROUTESYNC-FORWARD/g)).toHaveLength(1);
  });

  it('changing endpoints rewrites only the chain; dropping the mapping removes its chain', async () => {
    await ipt.apply(rules(['10.244.1.2:80', '10.244.1.3:80', '10.244.2.2:80']));
    let save = kit.exec(ns, ['iptables-save', '-t', 'nat']);
    expect(save.match(/^-A ROUTESYNC-ING-TCP-8080 /gm)).toHaveLength(3);
    await ipt.apply(rules(['10.244.2.2:80'], 9090));
    save = kit.exec(ns, ['iptables-save', '-t', 'nat']);
    expect(save).not.toContain('ROUTESYNC-ING-TCP-8080');
    expect(save).toContain('-A ROUTESYNC-ING-TCP-9090 -p tcp -j DNAT --to-destination 10.244.2.2:80');
    await ipt.apply(rules([]));
    expect(kit.exec(ns, ['iptables-save', '-t', 'nat'])).not.toContain('ROUTESYNC-ING-TCP');
  });

  it('a restore the kernel refuses leaves the previous rules in place (I7)', async () => {
    await ipt.apply(rules(['10.244.1.2:80']));
    const before = kit
      .exec(ns, ['iptables-save'])
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    const bad = rules(['10.244.1.3:80']);
    bad.chains.nat.get('ROUTESYNC-POSTRTG')?.splice(2, 0, '-A ROUTESYNC-POSTRTG -j NO-SUCH-TARGET');
    await expect(ipt.apply(bad)).rejects.toThrow(/iptables-restore --noflush failed/);
    expect(
      kit
        .exec(ns, ['iptables-save'])
        .split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual(before);
  });

  it('a missing iptables is one clear error', async () => {
    await expect(
      new Iptables({ prefix: ['ip', 'netns', 'exec', ns], save: 'no-such-iptables-save' }).installed(),
    ).rejects.toThrow(/no-such-iptables-save/);
  });

  it('cleanup removes our chains and jumps and nothing else', async () => {
    const before = foreign();
    expect((await ipt.cleanup()).changed).toBe(true);
    const save = kit.exec(ns, ['iptables-save']);
    expect(save).not.toContain('ROUTESYNC');
    expect(foreign()).toEqual(before);
    expect(await ipt.cleanup()).toEqual({ changed: false });
  });
});
