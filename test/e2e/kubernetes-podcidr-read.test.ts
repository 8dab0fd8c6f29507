// kubernetes.podCIDR read end to end (issue 14 item 2): another IPAM writes each Node's podCIDR; the
// controller (running: its loop, the Node watch, store.type kubernetes and its Lease) routes what the
// Nodes carry against a cloud emulator and the Kubernetes API emulator. No subnet is allocated and no
// Node is patched; a bad podCIDR is a finding with no route; an empty one is pending until the IPAM writes
// it; a Node deleted and registered again with another podCIDR has its route moved.
import { describe, expect, it, afterEach } from 'vitest';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { type KubeRig, kubeRig, routesAre } from '../helpers/kube-rig.ts';

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('kubernetes.podCIDR read on %s', (kind) => {
  let rig: KubeRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('routes what the Nodes carry, allocates and patches nothing, and follows the IPAM', async () => {
    rig = await kubeRig(
      kind,
      6,
      (seed) => [
        seed('n0', 0, { podCIDR: '172.16.10.0/24' }),
        seed('n1', 1, { podCIDR: '172.16.11.0/24' }),
        seed('n2', 2, { podCIDR: '172.16.12.0/24' }),
        seed('waiting', 3),
        seed('wide', 4, { podCIDR: '172.16.14.0/23' }),
        seed('elsewhere', 5, { podCIDR: '10.99.0.0/24' }),
      ],
      { podCIDR: 'read' },
    );
    const r = rig;
    await routesAre(
      r,
      { '172.16.10.0/24': 0, '172.16.11.0/24': 1, '172.16.12.0/24': 2 },
      'the carried podCIDRs routed',
    );
    expect(Object.fromEntries(r.inv.findings().map((x) => [x.node, x.kind]))).toEqual({
      wide: 'podcidr-length',
      elsewhere: 'podcidr-outside',
    });
    expect(r.inv.pending()).toEqual(['waiting']);

    // The IPAM writes the waiting Node's podCIDR: its route follows on the watch, not at the next interval.
    const client = await r.other();
    await client.core.patchNode(
      { name: 'waiting', body: { spec: { podCIDR: '172.16.13.0/24', podCIDRs: ['172.16.13.0/24'] } } },
      client.options({ contentType: 'application/merge-patch+json' }),
    );
    const all = { '172.16.10.0/24': 0, '172.16.11.0/24': 1, '172.16.12.0/24': 2, '172.16.13.0/24': 3 };
    await routesAre(r, all, 'the newly carried podCIDR routed');
    expect(r.inv.pending()).toEqual([]);

    // n1 is deleted and registers again with another podCIDR (kube-controller-manager gave it a new one):
    // its route moves; the old subnet's route is deleted once the store released it.
    await r.deleteNode('n1');
    await r.addNodes([r.seed('n1', 1, { podCIDR: '172.16.21.0/24' })]);
    const { '172.16.11.0/24': _old, ...rest } = all;
    await routesAre(r, { ...rest, '172.16.21.0/24': 1 }, 'n1’s route moved to its new podCIDR');

    // Nothing was written to a Node's spec: every podCIDR came from the IPAM (here: the test).
    expect(r.served('patch:nodes')).toBe(0);
    expect(r.controller.lastPass?.allocated).toEqual([]);
  }, 60_000);
});
