import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultNonMasquerade,
  emptyRuleSet,
  inPlace,
  parseSave,
  probabilityText,
  renderRules,
  restoreText,
  spreadProbabilities,
  MASQ_CHAIN,
} from '../../src/agent/rules.ts';

const base = {
  clusterCIDR: '10.244.0.0/16',
  nonMasqueradeCIDRs: defaultNonMasquerade('10.244.0.0/16', ['10.0.0.0/16']),
  masqLinkLocal: false,
  randomFully: true,
  ingress: [],
};

describe('masquerade chain', () => {
  it('renders the seed table: RETURN for private ranges, link-local and multicast, then MASQUERADE for containers', () => {
    const rules = renderRules(base).chains.nat.get(MASQ_CHAIN);
    expect(rules).toEqual([
      '-A ROUTESYNC-POSTRTG -d 10.244.0.0/16 -m comment --comment "routesync: non-masquerade" -j RETURN',
      '-A ROUTESYNC-POSTRTG -d 10.0.0.0/16 -m comment --comment "routesync: non-masquerade" -j RETURN',
      '-A ROUTESYNC-POSTRTG -d 10.0.0.0/8 -m comment --comment "routesync: non-masquerade" -j RETURN',
      '-A ROUTESYNC-POSTRTG -d 172.16.0.0/12 -m comment --comment "routesync: non-masquerade" -j RETURN',
      '-A ROUTESYNC-POSTRTG -d 192.168.0.0/16 -m comment --comment "routesync: non-masquerade" -j RETURN',
      '-A ROUTESYNC-POSTRTG -d 169.254.0.0/16 -m comment --comment "routesync: link-local" -j RETURN',
      '-A ROUTESYNC-POSTRTG -d 224.0.0.0/4 -m comment --comment "routesync: multicast" -j RETURN',
      '-A ROUTESYNC-POSTRTG -s 10.244.0.0/16 -m comment --comment "routesync: masquerade" -j MASQUERADE --random-fully',
    ]);
  });

  it('masqLinkLocal drops the link-local RETURN; randomFully false drops the flag; duplicates collapse', () => {
    const rules =
      renderRules({
        ...base,
        nonMasqueradeCIDRs: ['10.0.0.0/8', '10.0.0.0/8'],
        masqLinkLocal: true,
        randomFully: false,
      }).chains.nat.get(MASQ_CHAIN) ?? [];
    expect(rules.filter((r) => r.includes('169.254'))).toEqual([]);
    expect(rules.filter((r) => r.includes('10.0.0.0/8'))).toHaveLength(1);
    expect(rules.at(-1)).toMatch(/-j MASQUERADE$/);
  });

  it('jumps from POSTROUTING only for non-local destinations, FORWARD accepts cluster traffic', () => {
    const set = renderRules(base);
    expect(set.jumps).toContainEqual({
      table: 'nat',
      hook: 'POSTROUTING',
      spec: '-m addrtype ! --dst-type LOCAL -m comment --comment "routesync: masquerade" -j ROUTESYNC-POSTRTG',
    });
    expect(set.chains.filter.get('ROUTESYNC-FORWARD')).toEqual([
      '-A ROUTESYNC-FORWARD -s 10.244.0.0/16 -m comment --comment "routesync: forward from containers" -j ACCEPT',
      '-A ROUTESYNC-FORWARD -d 10.244.0.0/16 -m comment --comment "routesync: forward to containers" -j ACCEPT',
    ]);
  });
});

describe('ingress DNAT', () => {
  it('spreads over n endpoints with 1/n, 1/(n-1), …, 1 in the 11 digits iptables-save prints', () => {
    const set = renderRules({
      ...base,
      ingress: [{ port: 8080, protocol: 'tcp', endpoints: ['10.244.1.2:80', '10.244.1.3:80', '10.244.2.2:80'] }],
    });
    expect(set.chains.nat.get('ROUTESYNC-INGRESS')).toEqual([
      '-A ROUTESYNC-INGRESS -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -j ROUTESYNC-ING-TCP-8080',
    ]);
    expect(set.chains.nat.get('ROUTESYNC-ING-TCP-8080')).toEqual([
      '-A ROUTESYNC-ING-TCP-8080 -p tcp -m statistic --mode random --probability 0.33333333349 -j DNAT --to-destination 10.244.1.2:80',
      '-A ROUTESYNC-ING-TCP-8080 -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.1.3:80',
      '-A ROUTESYNC-ING-TCP-8080 -p tcp -j DNAT --to-destination 10.244.2.2:80',
    ]);
  });

  it('every endpoint gets 1/n of new connections (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (n) => {
        const p = spreadProbabilities(n);
        expect(p.at(-1)).toBe(1);
        let rest = 1;
        for (const q of p) {
          expect(rest * q).toBeCloseTo(1 / n, 12);
          rest *= 1 - q;
        }
      }),
    );
  });

  it('probabilities survive the 31-bit rounding within 1e-9 (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (p) => {
        expect(Math.abs(Number(probabilityText(p)) - p)).toBeLessThan(1e-9);
        expect(probabilityText(Number(probabilityText(p)))).toBe(probabilityText(p));
      }),
    );
  });
});

describe('restore text and comparison', () => {
  const set = renderRules({ ...base, ingress: [{ port: 53, protocol: 'udp', endpoints: ['10.244.1.2:53'] }] });

  it('from nothing: declares every chain, inserts each jump once, commits both tables', () => {
    const text = restoreText(set, emptyRuleSet());
    expect(text).toMatch(/^\*nat\n:ROUTESYNC-POSTRTG - \[0:0\]\n/);
    expect(text.match(/^-I POSTROUTING 1 /gm)).toHaveLength(1);
    expect(text.match(/^-I FORWARD 1 /gm)).toHaveLength(1);
    expect(text.match(/^COMMIT$/gm)).toHaveLength(2);
    expect(text).not.toMatch(/^-D |^-X /m);
  });

  it('a save of exactly the wanted set is in place; a missing rule, extra jump or stale chain is not', () => {
    const save = (extra: string[] = [], drop?: string) => {
      const lines = [
        '*nat',
        ...[...set.chains.nat.keys(), ...extra.filter((l) => l.startsWith(':')).map((l) => l.slice(1))].map(
          (c) => `:${c} - [0:0]`,
        ),
      ];
      lines.push(':FOREIGN - [0:0]', '-A POSTROUTING -j FOREIGN', '-A FOREIGN -j MASQUERADE');
      for (const j of set.jumps.filter((j) => j.table === 'nat')) lines.push(`-A ${j.hook} ${j.spec}`);
      for (const r of set.chains.nat.values()) lines.push(...r.filter((l) => l !== drop));
      lines.push(...extra.filter((l) => !l.startsWith(':')), 'COMMIT', '*filter', ':ROUTESYNC-FORWARD - [0:0]');
      for (const j of set.jumps.filter((j) => j.table === 'filter')) lines.push(`-A ${j.hook} ${j.spec}`);
      lines.push(...(set.chains.filter.get('ROUTESYNC-FORWARD') ?? []), 'COMMIT');
      return parseSave(lines.join('\n'));
    };
    expect(inPlace(set, save())).toBe(true);
    expect(restoreText(set, save())).not.toContain('FOREIGN');
    expect(inPlace(set, save([], set.chains.nat.get(MASQ_CHAIN)?.[0]))).toBe(false);
    const dup = save([
      '-A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "routesync: masquerade" -j ROUTESYNC-POSTRTG',
    ]);
    expect(inPlace(set, dup)).toBe(false);
    expect(restoreText(set, dup).match(/^-D POSTROUTING /gm)).toHaveLength(1);
    const stale = save([':ROUTESYNC-ING-TCP-9', '-A ROUTESYNC-ING-TCP-9 -p tcp -j DNAT --to-destination 10.244.1.9:9']);
    expect(inPlace(set, stale)).toBe(false);
    expect(restoreText(set, stale)).toMatch(/^:ROUTESYNC-ING-TCP-9 - \[0:0\]$[\s\S]*^-X ROUTESYNC-ING-TCP-9$/m);
  });

  it('cleanup deletes exactly our jumps and chains', () => {
    const have = parseSave(
      [
        '*nat',
        ':ROUTESYNC-POSTRTG - [0:0]',
        ':KUBE-X - [0:0]',
        '-A POSTROUTING -j KUBE-X',
        '-A POSTROUTING -m comment --comment "routesync: masquerade" -j ROUTESYNC-POSTRTG',
        '-A ROUTESYNC-POSTRTG -j MASQUERADE',
        'COMMIT',
      ].join('\n'),
    );
    expect(restoreText(emptyRuleSet(), have)).toBe(
      [
        '*nat',
        ':ROUTESYNC-POSTRTG - [0:0]',
        '-D POSTROUTING -m comment --comment "routesync: masquerade" -j ROUTESYNC-POSTRTG',
        '-X ROUTESYNC-POSTRTG',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(restoreText(emptyRuleSet(), emptyRuleSet())).toBe('');
  });
});
