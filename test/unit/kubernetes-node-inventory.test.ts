// Nodes → VMs (src/kubernetes/node-inventory.ts): mapped by providerID, every unusable Node a finding with
// its reason and no route, two Nodes on one VM both findings, a Node being deleted still a VM; and the
// InventorySource over the watch: list() fails while the Nodes are not known, never "no VMs".
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubernetesInventory, nodesToInstances } from '../../src/kubernetes/node-inventory.ts';
import { NodeListError, type NodeSnapshot } from '../../src/kubernetes/node-watch.ts';

function node(
  name: string,
  providerID: string | undefined,
  ip: string | null = '10.0.0.9',
  extra: Partial<V1Node['metadata']> = {},
): V1Node {
  return {
    metadata: { name, labels: { 'topology.kubernetes.io/zone': 'zone-from-label' }, ...extra },
    spec: providerID === undefined ? {} : { providerID },
    status: {
      addresses: ip
        ? [
            { type: 'InternalIP', address: ip },
            { type: 'Hostname', address: name },
          ]
        : [],
    },
  };
}

describe('nodesToInstances', () => {
  it('maps each usable Node to its VM and reports every other one', () => {
    const m = nodesToInstances(
      [
        node('a', 'aws:///us-east-1a/i-0123456789abcdef0', '10.0.1.4'),
        node('b', 'aws:////i-0123456789abcdef1', '10.0.1.5'),
        node('c', undefined),
        node('d', 'gce://p-12345/us-central1-a/vm-d'),
        node('e', 'aws:///us-east-1a/i-0123456789abcdef2', null),
        node('f', 'aws:///us-east-1b/i-0123456789abcdef3', '10.0.1.7', { deletionTimestamp: new Date() }),
        node('g', 'aws:///us-east-1a/i-0123456789abcdef9', '10.0.1.8'),
        node('h', 'aws:///us-east-1a/i-0123456789abcdef9', '10.0.1.9'),
      ],
      'aws',
    );
    expect(m.instances).toEqual([
      { id: 'i-0123456789abcdef0', name: 'a', privateIp: '10.0.1.4', zone: 'us-east-1a', state: 'running' },
      { id: 'i-0123456789abcdef1', name: 'b', privateIp: '10.0.1.5', zone: 'zone-from-label', state: 'running' },
      { id: 'i-0123456789abcdef3', name: 'f', privateIp: '10.0.1.7', zone: 'us-east-1b', state: 'stopping' },
    ]);
    expect(m.findings.map((f) => [f.node, f.kind])).toEqual([
      ['c', 'missing'],
      ['d', 'other-cloud'],
      ['e', 'no-internal-ip'],
      ['g', 'duplicate-vm'],
      ['h', 'duplicate-vm'],
    ]);
    expect(m.findings.find((f) => f.node === 'g')?.detail).toBe('Node g: VM i-0123456789abcdef9 is also named by h');
    expect(m.nodeOf.get('i-0123456789abcdef0')).toBe('a');
  });

  it('GCE: one instance name in two zones is two VMs', () => {
    const m = nodesToInstances(
      [node('x', 'gce://p-12345/us-central1-a/vm-1'), node('y', 'gce://p-12345/us-central1-b/vm-1')],
      'gce',
      { project: 'p-12345' },
    );
    expect(m.findings).toEqual([]);
    expect(m.instances.map((i) => i.id)).toEqual(['us-central1-a/vm-1', 'us-central1-b/vm-1']);
  });
});

describe('kubernetesInventory', () => {
  it('lists the mapped VMs, keeps the findings, and fails while the Nodes are not known', async () => {
    let snap: NodeSnapshot | Error = new NodeListError('Nodes not known: listing Nodes (page 2): HTTP 503');
    const listeners: Array<(n: ReadonlySet<string>) => void> = [];
    const inv = kubernetesInventory(
      {
        current: () => {
          if (snap instanceof Error) throw snap;
          return snap;
        },
        onChange: (cb) => {
          listeners.push(cb);
          return () => undefined;
        },
      },
      'aliyun',
      { region: 'cn-hangzhou' },
    );
    expect(inv.kind).toBe('kubernetes');
    await expect(inv.list()).rejects.toThrow(NodeListError);
    snap = {
      nodes: new Map([
        ['n1', node('n1', 'cn-hangzhou.i-bp1abcdefghij0123456')],
        ['n2', node('n2', 'cn-beijing.i-bp1abcdefghij0123457')],
      ]),
      excluded: [],
      resourceVersion: '9',
    };
    expect((await inv.list()).map((i) => i.id)).toEqual(['i-bp1abcdefghij0123456']);
    expect(inv.findings().map((f) => f.kind)).toEqual(['other-location']);
    expect(inv.nodeOf('i-bp1abcdefghij0123456')).toBe('n1');
    const reasons: string[] = [];
    inv.watch?.((r) => reasons.push(r));
    listeners[0]?.(new Set(['n7', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']));
    expect(reasons).toEqual(['Nodes changed: n1, n2, n3, n4, n5 and 2 more']);
  });
});
