// The Nodes part of the status document (issue 14 item 6), pure: rows from Node objects, the subnet joined
// by VM, a podCIDR that is not the VM's subnet is a finding, Nodes that cannot be read are never "no Nodes".
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { nodeStatuses } from '../../src/kubernetes/node-status.ts';
import { nodeSection, renderNodes } from '../../src/status-nodes.ts';

function node(name: string, spec: V1Node['spec'], extra: Partial<V1Node> = {}): V1Node {
  return { metadata: { name, ...(extra.metadata ?? {}) }, spec, ...(extra.status ? { status: extra.status } : {}) };
}

const NODES = new Map<string, V1Node>([
  [
    'b',
    node(
      'b',
      { providerID: 'aws:///us-east-1a/i-0000000000000000b', podCIDR: '10.0.9.0/24', podCIDRs: ['10.0.9.0/24'] },
      {
        status: {
          conditions: [
            {
              type: 'NetworkUnavailable',
              status: 'False',
              reason: 'RouteCreated',
              lastTransitionTime: new Date('2026-12-01T10:00:00Z'),
            },
          ],
        },
      },
    ),
  ],
  ['a', node('a', { providerID: 'aws:///us-east-1a/i-0000000000000000a', podCIDR: '10.0.1.0/24' })],
  ['x', node('x', { providerID: 'aws:///us-east-1a/i-0000000000000000c' }, { metadata: { labels: { skip: 'yes' } } })],
]);

describe('Node status rows', () => {
  const rows = nodeStatuses({
    nodes: NODES.values(),
    exclude: { key: 'skip', value: 'yes' },
    cloud: 'aws',
    findings: [{ node: 'x', kind: 'vm-not-found', detail: 'Node x: the cloud has no VM' }],
  });

  it('one row per Node in name order, the condition as the Node carries it, the exclusion before any finding', () => {
    expect(rows.map((r) => r.node)).toEqual(['a', 'b', 'x']);
    expect(rows[0]).toEqual({
      node: 'a',
      providerID: 'aws:///us-east-1a/i-0000000000000000a',
      vm: 'i-0000000000000000a',
      podCIDRs: ['10.0.1.0/24'],
      networkUnavailable: null,
    });
    expect(rows[1]?.networkUnavailable).toEqual({
      status: 'False',
      reason: 'RouteCreated',
      since: '2026-12-01T10:00:00.000Z',
    });
    expect(rows[2]?.finding).toEqual({ kind: 'excluded', detail: 'Node x: carries skip=yes; not routed' });
  });

  it('joins the subnet by VM and calls a podCIDR that is not that subnet a finding', () => {
    const s = nodeSection(
      () => rows,
      [
        { instanceId: 'i-0000000000000000a', subnet: '10.0.1.0/24' },
        { instanceId: 'i-0000000000000000b', subnet: '10.0.2.0/24' },
      ],
    );
    if (s.nodes === null) throw new Error('no rows');
    expect(s.nodes.map((r) => [r.node, r.subnet, r.finding?.kind])).toEqual([
      ['a', '10.0.1.0/24', undefined],
      ['b', '10.0.2.0/24', 'podcidr-mismatch'],
      ['x', null, 'excluded'],
    ]);
    const text = renderNodes(s);
    expect(text[0]).toBe('Nodes: 3: 1 routed, 1 excluded, 1 with a finding');
    expect(text).toContain(
      "  podcidr-mismatch: Node b: spec.podCIDR 10.0.9.0/24 is not its VM's subnet 10.0.2.0/24: the route carries the subnet, not the pods' addresses",
    );
  });

  it('Nodes that cannot be read are an error in the document, not an empty list', () => {
    const s = nodeSection(() => {
      throw new Error('Nodes not known: listing Nodes (page 1): HTTP 503');
    }, []);
    expect(s).toEqual({ nodes: null, nodesError: 'Nodes not known: listing Nodes (page 1): HTTP 503' });
    expect(renderNodes(s)).toEqual(['Nodes: not read (Nodes not known: listing Nodes (page 1): HTTP 503)']);
  });
});
