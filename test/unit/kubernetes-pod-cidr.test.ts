// kubernetes.podCIDR read (issue 14 item 2), the pure part: each Node's podCIDR checked against the pool
// and the other Nodes' (src/kubernetes/pod-cidr.ts), and nodesToInstances reporting the bad ones as
// findings while every other Node maps as before; store.type kubernetes's view of the same Nodes gives the
// same Node the same subnet (a Node the inventory calls a newcomer on a taken subnet holds nothing there).
import type { V1Node } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodesToInstances } from '../../src/kubernetes/node-inventory.ts';
import { checkPodCidrs, nodePodCidr, podCidrProblem } from '../../src/kubernetes/pod-cidr.ts';
import { emptyLedger, nodeView, viewOf } from '../../src/store/kubernetes/record.ts';

const pool = { clusterCIDR: '10.244.0.0/16', subnetLen: 24 };

function node(
  name: string,
  podCIDR: string | string[] | undefined,
  opts: { id?: string; providerID?: string; created?: string } = {},
): V1Node {
  const cidrs = podCIDR === undefined ? undefined : Array.isArray(podCIDR) ? podCIDR : [podCIDR];
  return {
    metadata: { name, creationTimestamp: new Date(opts.created ?? '2026-01-01T00:00:00Z') },
    spec: {
      providerID: opts.providerID ?? `aws:///us-east-1a/${opts.id ?? `i-${name.padStart(17, '0')}`}`,
      ...(cidrs ? { podCIDR: cidrs[0], podCIDRs: cidrs } : {}),
    },
    status: { addresses: [{ type: 'InternalIP', address: '10.0.0.9' }] },
  };
}

describe('podCidrProblem', () => {
  it('names what is wrong: not a CIDR, host bits, outside clusterCIDR, another length', () => {
    expect(podCidrProblem('10.244.3.0/24', pool)).toBeUndefined();
    expect(podCidrProblem('banana', pool)).toEqual({
      kind: 'podcidr-invalid',
      detail: '"banana" is not a valid IPv4 CIDR',
    });
    expect(podCidrProblem('10.244.3.7/24', pool)?.kind).toBe('podcidr-invalid');
    expect(podCidrProblem('fd00:10:244::/64', pool)?.kind).toBe('podcidr-invalid');
    expect(podCidrProblem('10.245.3.0/24', pool)).toEqual({
      kind: 'podcidr-outside',
      detail: '10.245.3.0/24 is outside clusterCIDR 10.244.0.0/16',
    });
    expect(podCidrProblem('10.244.4.0/23', pool)).toEqual({
      kind: 'podcidr-length',
      detail: '10.244.4.0/23 is a /23, not a /24 (subnetLen)',
    });
  });

  it('takes the IPv4 podCIDR of a dual-stack Node, whichever family comes first', () => {
    expect(nodePodCidr(node('a', ['10.244.1.0/24', 'fd00::/64']))).toBe('10.244.1.0/24');
    expect(nodePodCidr(node('a', ['fd00::/64', '10.244.1.0/24']))).toBe('10.244.1.0/24');
    expect(nodePodCidr(node('a', ['fd00::/64']))).toBe('fd00::/64');
    expect(nodePodCidr(node('a', undefined))).toBe('');
  });
});

describe('checkPodCidrs', () => {
  it('the first Node created keeps a subnet two carry; empty is pending, not a finding', () => {
    const c = checkPodCidrs(
      [
        { name: 'b-new', podCIDR: '10.244.1.0/24', createdAt: 200 },
        { name: 'z-old', podCIDR: '10.244.1.0/24', createdAt: 100 },
        { name: 'c', podCIDR: '10.244.2.0/24', createdAt: 300 },
        { name: 'waiting', podCIDR: '', createdAt: 400 },
        { name: 'wide', podCIDR: '10.244.8.0/22', createdAt: 50 },
      ],
      pool,
    );
    expect([...c.held]).toEqual([
      ['z-old', '10.244.1.0/24'],
      ['c', '10.244.2.0/24'],
    ]);
    expect(c.pending).toEqual(['waiting']);
    expect(c.findings.map((f) => [f.node, f.kind])).toEqual([
      ['b-new', 'podcidr-overlap'],
      ['wide', 'podcidr-length'],
    ]);
    expect(c.findings[0]?.detail).toBe(
      "Node b-new: spec.podCIDR 10.244.1.0/24 is also Node z-old's (created first, it keeps the route); no route",
    );
  });

  it('property: no subnet is held twice, every Node is held, pending or a finding, and a Node alone on a good subnet is held', () => {
    const cidr = fc.oneof(
      fc.integer({ min: 0, max: 7 }).map((i) => `10.244.${i}.0/24`),
      fc.constantFrom('', '10.244.1.5/24', '10.245.0.0/24', '10.244.0.0/25', 'x', 'fd00::/64'),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ name: fc.string({ minLength: 1, maxLength: 4 }), podCIDR: cidr, createdAt: fc.nat(9) }),
          {
            selector: (n) => n.name,
            maxLength: 20,
          },
        ),
        (nodes) => {
          const c = checkPodCidrs(nodes, pool);
          const subnets = [...c.held.values()];
          expect(new Set(subnets).size).toBe(subnets.length);
          const seen = [...c.held.keys(), ...c.pending, ...c.findings.map((f) => f.node)].sort();
          expect(seen).toEqual(nodes.map((n) => n.name).sort());
          for (const n of nodes) {
            const alone = nodes.filter((m) => m.podCIDR === n.podCIDR).length === 1;
            if (alone && podCidrProblem(n.podCIDR, pool) === undefined && n.podCIDR !== '')
              expect(c.held.get(n.name)).toBe(n.podCIDR);
          }
        },
      ),
    );
  });
});

describe('nodesToInstances in podCIDR read mode', () => {
  const nodes = [
    node('good', '10.244.1.0/24', { id: 'i-00000000000000001' }),
    node('pending', undefined, { id: 'i-00000000000000002' }),
    node('hostbits', '10.244.3.7/24', { id: 'i-00000000000000003' }),
    node('outside', '10.9.0.0/24', { id: 'i-00000000000000004' }),
    node('newcomer', '10.244.1.0/24', { id: 'i-00000000000000005', created: '2026-02-01T00:00:00Z' }),
    // A Node whose providerID is unusable still holds its subnet against a later Node.
    node('garbage', '10.244.6.0/24', { providerID: 'not-a-provider-id' }),
    node('late', '10.244.6.0/24', { id: 'i-00000000000000007', created: '2026-03-01T00:00:00Z' }),
  ];

  it('reports each bad podCIDR as a finding and keeps every Node that maps in the list (no allocation, no route)', () => {
    const m = nodesToInstances(nodes, 'aws', {}, pool);
    expect(m.findings.map((f) => [f.node, f.kind])).toEqual([
      ['garbage', 'malformed'],
      ['hostbits', 'podcidr-invalid'],
      ['late', 'podcidr-overlap'],
      ['newcomer', 'podcidr-overlap'],
      ['outside', 'podcidr-outside'],
    ]);
    expect(m.pending).toEqual(['pending']);
    expect(m.instances.map((i) => i.name)).toEqual(['good', 'hostbits', 'late', 'newcomer', 'outside', 'pending']);
    expect(m.findings.find((f) => f.node === 'outside')?.detail).toBe(
      'Node outside: spec.podCIDR 10.9.0.0/24 is outside clusterCIDR 10.244.0.0/16; no route',
    );
  });

  it('a Node left out (excluded) still holds its podCIDR against a later one', () => {
    const excluded = node('excluded', '10.244.9.0/24', { id: 'i-00000000000000008' });
    const later = node('later', '10.244.9.0/24', { id: 'i-00000000000000009', created: '2026-05-01T00:00:00Z' });
    const m = nodesToInstances([later], 'aws', {}, pool, [excluded, later]);
    expect(m.findings.map((f) => [f.node, f.kind])).toEqual([['later', 'podcidr-overlap']]);
    expect(nodesToInstances([later], 'aws', {}, pool).findings).toEqual([]);
  });

  it('allocate mode (no pool) does not look at podCIDRs', () => {
    const m = nodesToInstances(nodes, 'aws', {});
    expect(m.findings.map((f) => f.kind)).toEqual(['malformed']);
    expect(m.pending).toEqual([]);
  });

  it('store.type kubernetes gives exactly the held Nodes an allocation, each with its subnet', () => {
    const check = nodesToInstances(nodes, 'aws', {}, pool);
    const vmOf = (n: V1Node) => /i-\d{17}$/.exec(n.spec?.providerID ?? '')?.[0];
    const view = viewOf(
      emptyLedger(),
      nodes.map((n) => nodeView(n, vmOf)),
      pool,
      { read: true },
    );
    const bad = new Set(check.findings.map((f) => f.node));
    const expected = nodes
      .filter((n) => !bad.has(n.metadata?.name as string) && nodePodCidr(n) !== '')
      .map((n) => [n.metadata?.name, nodePodCidr(n)]);
    expect(view.snapshot.allocations.map((a) => [a.name, a.subnet])).toEqual(expected);
  });
});
