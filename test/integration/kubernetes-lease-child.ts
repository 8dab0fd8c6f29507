// A Lease candidate in its own process, for the pause test (a real SIGSTOP needs a process of its own).
// argv: kubeconfig identity leaseMs renewDeadlineMs retryMs namespace configmap.
// While it leads it writes (a merge patch of the ConfigMap) every 20 ms, each write fenced by checkNow()
// and gated on the wire. stdout: one JSON event per line.
import { silentLogger } from '../../src/log.ts';
import { openKubeClient } from '../../src/kubernetes/client.ts';
import { LeaseLeadership } from '../../src/kubernetes/lease.ts';
import { fenceKubeWrites, leasePaths } from '../../src/kubernetes/wire-fence.ts';

const [kubeconfig, identity, leaseMs, renewMs, retryMs, namespace, configMap] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const kube = await openKubeClient({ kubeconfig });
const lease = new LeaseLeadership({
  kube,
  namespace,
  name: 'routesync',
  identity,
  leaseDurationMs: Number(leaseMs),
  renewDeadlineMs: Number(renewMs),
  retryPeriodMs: Number(retryMs),
  logger: silentLogger,
});
const gate = fenceKubeWrites(kube.server, () => lease.checkNow(), leasePaths(namespace, 'routesync'));
lease.onLost(() => say({ event: 'lost' }));
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
let n = 0;
while (!stop.signal.aborted) {
  if (!lease.isLeader()) {
    await lease.campaign(stop.signal).catch(() => undefined);
    if (lease.isLeader()) say({ event: 'elected' });
    continue;
  }
  try {
    lease.checkNow();
    await kube.core.patchNamespacedConfigMap(
      { namespace, name: configMap, body: { data: { writer: identity, n: String(++n) } } },
      kube.options({ contentType: 'application/merge-patch+json', timeoutMs: 2_000 }),
    );
    say({ event: 'wrote', n });
  } catch (e) {
    say({ event: 'write-refused', refusedOnWire: gate.refused, message: (e as Error).message.split('\n')[0] });
  }
  await new Promise((r) => setTimeout(r, 20));
}
gate.close();
await lease.resign();
process.exit(0);
