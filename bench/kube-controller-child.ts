// One controller of the Kubernetes benchmarks (bench/kubernetes.ts), in its own process so that its RSS and
// its API calls are its own: the Lease (src/kubernetes/lease.ts) with the kube wire fence, the NodeWatch,
// and store.type kubernetes reading its Nodes from the watch cache. Each pass (every --interval and on a
// Node change): fence, load, plan the Nodes without a subnet, allocate. No cloud routes: the store's and
// the inventory's side of a pass only. Prints JSON lines: {"event":"leader"}, {"event":"pass",...}.
// node bench/kube-controller-child.ts KUBECONFIG IDENTITY INTERVAL_MS LEASE_S RENEW_S RETRY_S
import type { V1Node } from '@kubernetes/client-node';
import { planAllocations, PoolExhaustedError } from '../src/allocator.ts';
import { openKubeClient } from '../src/kubernetes/client.ts';
import { LeaseLeadership } from '../src/kubernetes/lease.ts';
import { nodesToInstances } from '../src/kubernetes/node-inventory.ts';
import { NodeWatch } from '../src/kubernetes/node-watch.ts';
import { parseProviderId } from '../src/kubernetes/provider-id.ts';
import { fenceKubeWrites, leasePaths } from '../src/kubernetes/wire-fence.ts';
import { silentLogger } from '../src/log.ts';
import { KubernetesStore } from '../src/store/kubernetes/store.ts';

export const BENCH_PROJECT = 'routesync-bench';
export const BENCH_POOL = { clusterCIDR: '10.64.0.0/12', subnetLen: 24 };
const NS = 'routesync';
const LEASE = 'routesync-bench';

async function main(): Promise<void> {
  const [kubeconfig, identity, intervalMs, leaseS, renewS, retryS] = process.argv.slice(2);
  const kube = await openKubeClient({ kubeconfig: kubeconfig as string, env: {} });
  const leadership = new LeaseLeadership({
    kube,
    namespace: NS,
    name: LEASE,
    identity: identity as string,
    leaseDurationMs: Number(leaseS) * 1000,
    renewDeadlineMs: Number(renewS) * 1000,
    retryPeriodMs: Number(retryS) * 1000,
    logger: silentLogger,
  });
  fenceKubeWrites(kube.server, () => leadership.checkNow(), leasePaths(NS, LEASE));
  const watch = new NodeWatch({ kube, logger: silentLogger, debounceMs: 100 });
  await watch.start();
  const vmOf = (n: V1Node) => {
    const r = parseProviderId(n.spec?.providerID, 'gce', { project: BENCH_PROJECT });
    return r.ok ? r.ref.instanceId : undefined;
  };
  const store = new KubernetesStore({
    kube,
    namespace: NS,
    configMap: 'routesync-bench-subnets',
    vmOf,
    pool: BENCH_POOL,
    logger: silentLogger,
    guard: () => leadership.checkNow(),
  });
  store.useNodes(() => watch.allNodes());
  const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ ...o, t: Date.now() })}\n`);
  let passes = 0;
  let running = false;
  let again = false;
  const pass = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        if (!leadership.isLeader()) return;
        await leadership.fence();
        const snap = await store.load();
        const { instances } = nodesToInstances(watch.current().nodes.values(), 'gce', { project: BENCH_PROJECT });
        let reqs;
        try {
          reqs = planAllocations({ ...BENCH_POOL, reserved: [], reuseAfterMs: 0, now: Date.now() }, snap, instances);
        } catch (e) {
          if (!(e instanceof PoolExhaustedError)) throw e;
          reqs = e.partial;
        }
        const r = reqs.length > 0 ? await store.allocate(reqs) : { committed: [] };
        passes++;
        say({ event: 'pass', n: passes, allocated: r.committed.length, rss: process.memoryUsage().rss });
      } while (again);
    } catch (e) {
      say({ event: 'error', err: (e as Error).message });
    } finally {
      running = false;
    }
  };
  watch.onChange(() => void pass());
  setInterval(() => void pass(), Number(intervalMs));
  for (;;) {
    await leadership.campaign(new AbortController().signal);
    say({ event: 'leader' });
    await pass();
    await new Promise<void>((resolve) => leadership.onLost(resolve));
    say({ event: 'lost' });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
