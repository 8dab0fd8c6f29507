// Bad input in Kubernetes mode (issue 14, "Bad input"), against the Kubernetes API emulator and a cloud
// emulator with the controller running as `routesync run` wires it: a garbage providerID, a podCIDR that
// is not a CIDR, a podCIDR another Node holds, a 403 on one Node's patch, a Node deleted mid-pass. Each is
// one clear log line (and an Event where the Node is there to carry one), no route change for that Node,
// and every other Node converges.
import type { CoreV1Event, V1Node } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import type { NodeInventory } from '../../src/inventory/kubernetes.ts';
import { NETWORK_UNAVAILABLE } from '../../src/kubernetes/node-condition.ts';
import { until } from '../../testkit/wait.ts';
import { type KubeRig, kubeRig, routesAre } from '../helpers/kube-rig.ts';

interface Line {
  level: number;
  msg: string;
  node?: string;
  instanceId?: string;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger: Logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  return { logger, lines };
}

/** Warning lines naming this Node. */
const warnsAbout = (lines: Line[], name: string) =>
  lines.filter((l) => l.level >= 40 && (l.node === name || l.msg.includes(`Node ${name}:`)));

/** The inventory, deleting `victim` from the API server right after the list that still had it (once, once armed). */
function deleteMidPass(rig: () => KubeRig, victim: string) {
  const state = { armed: false, done: false };
  return {
    state,
    wrap: (inv: NodeInventory): NodeInventory =>
      Object.assign(Object.create(inv) as NodeInventory, {
        list: async (signal?: AbortSignal) => {
          const listed = await inv.list(signal);
          if (state.armed && !state.done && listed.some((i) => i.name === victim)) {
            state.done = true;
            await rig().deleteNode(victim);
          }
          return listed;
        },
      }),
  };
}

/** Waits until the running controller has completed `n` more passes (a full one each interval). */
async function passes(rig: KubeRig, n: number): Promise<void> {
  const from = rig.controller.passCount;
  await until(`${n} more passes`, () => rig.controller.passCount >= from + n, 10_000);
}

async function eventsOf(rig: KubeRig): Promise<CoreV1Event[]> {
  const c = await rig.other();
  return (await c.core.listNamespacedEvent({ namespace: 'default' })).items;
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('Kubernetes bad input on %s', (kind) => {
  let rig: KubeRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('podCIDR read: garbage providerID, a podCIDR that is not a CIDR, one another Node holds, a Node deleted mid-pass', async () => {
    const { logger, lines } = capture();
    const mid = deleteMidPass(() => rig as KubeRig, 'victim');
    rig = await kubeRig(
      kind,
      7,
      (seed) => [
        seed('n0', 0, { podCIDR: '172.16.10.0/24' }),
        seed('n1', 1, { podCIDR: '172.16.11.0/24' }),
        seed('garbage', 2, { providerID: 'banana://not/a/vm', podCIDR: '172.16.20.0/24' }),
        // The API server takes host bits (ParseCIDRSloppy): a podCIDR that is no CIDR of ours.
        seed('hostbits', 3, { podCIDR: '172.16.13.7/24' }),
        seed('victim', 4, { podCIDR: '172.16.14.0/24' }),
      ],
      { podCIDR: 'read', logger, wrapInventory: mid.wrap },
    );
    const r = rig;
    await routesAre(r, { '172.16.10.0/24': 0, '172.16.11.0/24': 1, '172.16.14.0/24': 4 }, 'the good Nodes routed');

    // A Node registered with n0's podCIDR, a good one beside it, and the victim deleted mid-pass.
    mid.state.armed = true;
    await r.addNodes([
      r.seed('n0-dup', 5, { podCIDR: '172.16.10.0/24' }),
      r.seed('late', 6, { podCIDR: '172.16.16.0/24' }),
    ]);
    // n0 keeps its route; the newcomer gets none; the deleted Node's route stays (its VM is missing, not
    // gone: released only after releaseAfter and the cloud's word); late converges.
    const want = { '172.16.10.0/24': 0, '172.16.11.0/24': 1, '172.16.14.0/24': 4, '172.16.16.0/24': 6 };
    await routesAre(r, want, 'the late Node routed, every other route as it was');
    expect(mid.state.done).toBe(true);

    const bad = { garbage: 'NoProviderID', hostbits: 'InvalidPodCIDR', 'n0-dup': 'InvalidPodCIDR' };
    const events = await until(
      'one Event on each bad Node',
      async () => {
        const ev = await eventsOf(r);
        return Object.keys(bad).every((n) => ev.some((e) => e.involvedObject.name === n)) && ev;
      },
      10_000,
    );
    for (const [name, reason] of Object.entries(bad)) {
      const mine = events.filter((e) => e.involvedObject.name === name);
      expect(
        mine.map((e) => e.reason),
        name,
      ).toEqual([reason]);
      // One line when it appeared, not one per pass.
      expect(warnsAbout(lines, name), name).toHaveLength(1);
    }
    expect(warnsAbout(lines, 'hostbits')[0]?.msg).toBe(
      'Node hostbits: spec.podCIDR "172.16.13.7/24" has host bits set (did you mean 172.16.13.0/24?); no route',
    );
    expect(warnsAbout(lines, 'n0-dup')[0]?.msg).toContain("is also Node n0's");
    // The deleted Node: one line that its route is kept, nothing destructive.
    const victimVm = r.vms[4]?.id as string;
    const aboutVictim = () => lines.filter((l) => l.instanceId === victimVm && l.level >= 30).map((l) => l.msg);
    await until('the pass after the deletion', () => aboutVictim().length > 0, 10_000);
    await passes(r, 2);
    expect(aboutVictim()).toEqual(['VM missing from the inventory: its subnet and route are kept until releaseAfter']);
    await routesAre(r, want, 'later full passes change nothing');
  }, 60_000);

  it('podCIDR allocate: a 403 on one Node’s podCIDR patch and a Node deleted mid-pass', async () => {
    const { logger, lines } = capture();
    const mid = deleteMidPass(() => rig as KubeRig, 'n3');
    mid.state.armed = true;
    rig = await kubeRig(kind, 4, (seed) => [seed('n0', 0), seed('n1', 1), seed('n2', 2), seed('n3', 3)], {
      podCIDR: 'allocate',
      logger,
      wrapInventory: mid.wrap,
      faults: [{ rate: 1, error: 'forbidden', action: 'patch:nodes:n2' }],
    });
    const r = rig;
    const client = await r.other();
    const podCIDR = async (name: string) => (await client.core.readNode({ name })).spec?.podCIDR;
    const s0 = await until(
      'n0 and n1 get podCIDRs',
      async () => (await podCIDR('n0')) && (await podCIDR('n1')),
      20_000,
    );
    expect(s0).toBeDefined();
    const want = { [(await podCIDR('n0')) as string]: 0, [(await podCIDR('n1')) as string]: 1 };
    await routesAre(r, want, 'n0 and n1 routed');
    await passes(r, 2);
    await routesAre(r, want, 'n2 still without a route after more passes');
    expect(await podCIDR('n2')).toBeUndefined();
    expect(mid.state.done).toBe(true);
    expect((await client.core.listNode({})).items.map((n) => n.metadata?.name).sort()).toEqual(['n0', 'n1', 'n2']);

    // n2: one line naming the Node, the field and the 403, however many passes asked again.
    const refused = warnsAbout(lines, 'n2');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.msg).toMatch(
      /^Node n2: writing spec\.podCIDR 172\.16\.\d+\.0\/24 was refused \(HTTP 403: .*forbidden/,
    );
    // And one Event on n2 saying so (Events are another permission than nodes patch), however many passes.
    const refusedEvents = await until(
      'the PodCIDRNotWritten Event on n2',
      async () => {
        const ev = (await eventsOf(r)).filter((e) => e.involvedObject.name === 'n2');
        return ev.length > 0 && ev;
      },
      10_000,
    );
    expect(refusedEvents.map((e) => [e.reason, e.count ?? 1])).toEqual([['PodCIDRNotWritten', 1]]);
    expect(refusedEvents[0]?.message).toMatch(/^Node n2: writing spec\.podCIDR was refused \(HTTP 403\)/);
    // Its subnet came back out of the record: not routed as "to patch", not held for a Node that never had it.
    expect(r.controller.lastPass?.store.allocations.map((a) => a.name).sort()).toEqual(['n0', 'n1']);
    // Its condition says why no pod should land there.
    const n2 = (await client.core.readNode({ name: 'n2' })) as V1Node;
    expect(n2.status?.conditions?.find((c) => c.type === NETWORK_UNAVAILABLE)?.status).toBe('True');

    // The refusal lifted: n2 converges too (I6).
    r.kube.faults.clear();
    const s2 = await until('n2 gets its podCIDR', () => podCIDR('n2'), 20_000);
    await routesAre(r, { ...want, [s2]: 2 }, 'n2 routed once the refusal is lifted');
  }, 60_000);
});
