// Kubernetes mode: the Node name from NODE_NAME and the subnet from its spec.podCIDR, read with
// @kubernetes/client-node from the Kubernetes API emulator; iptables in a namespace the test makes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { Agent } from '../../src/agent/agent.ts';
import { Iptables } from '../../src/agent/iptables.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { openNodeSource, type NodeSource } from '../../src/agent/node-source.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { ConfigError, validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryStore } from '../../src/store/memory/store.ts';
import { NetnsKit } from '../../testkit/netns.ts';

describe('agent in Kubernetes mode', () => {
  let kube: RunningKubeEmulator;
  let dir: string;
  let kubeconfig: string;
  let kit: NetnsKit;
  let ns: string;
  beforeAll(async () => {
    kube = await startKubeEmulator({
      nodes: [
        { name: 'node-a', podCIDR: '10.244.5.0/24' },
        { name: 'node-b' },
        { name: 'node-x', podCIDR: '10.99.0.0/24' },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'rs-agent-k8s-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kube.kubeconfig());
    kit = new NetnsKit();
    ns = kit.add('k8s');
  });
  afterAll(async () => {
    await kit?.teardown();
    await kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const agentFor = (node: string, nodes: NodeSource) =>
    new Agent({
      config: validateConfig({
        cluster: 'k8s',
        clusterCIDR: '10.244.0.0/16',
        provider: { type: 'gce', project: 'p', network: 'n' },
        store: { type: 'memory' },
        agent: { identity: { source: 'kubernetes', kubeconfig }, subnetEnv: join(dir, `${node}.env`), mtu: 1460 },
      }),
      store: new MemoryStore(),
      iptables: new Iptables({ prefix: ['ip', 'netns', 'exec', ns] }),
      logger: silentLogger,
      clock: systemClock,
      metrics: new AgentMetrics({ defaultMetrics: false }),
      ipForwardPath: join(dir, 'ip_forward'),
      env: { NODE_NAME: node },
      nodes,
    });

  it('reads spec.podCIDR of a Node, nothing while it has none, and names a missing Node', async () => {
    const nodes = await openNodeSource(kubeconfig);
    expect(await nodes.podCIDR('node-a')).toBe('10.244.5.0/24');
    expect(await nodes.podCIDR('node-b')).toBeUndefined();
    await expect(nodes.podCIDR('node-zz')).rejects.toThrow('Node node-zz not found in the API');
  });

  it('writes subnet.env from the podCIDR; waits for a Node without one; refuses one outside clusterCIDR', async () => {
    const nodes = await openNodeSource(kubeconfig);
    const withNodes = (node: string) => agentFor(node, nodes);
    expect((await withNodes('node-a').sync()).subnet).toBe('10.244.5.0/24');
    expect(readFileSync(join(dir, 'node-a.env'), 'utf8')).toContain('FLANNEL_SUBNET=10.244.5.1/24\n');
    expect((await withNodes('node-b').sync()).subnet).toBeUndefined();
    expect(existsSync(join(dir, 'node-b.env'))).toBe(false);
    await expect(withNodes('node-x').sync()).rejects.toThrow(
      'Node node-x spec.podCIDR is 10.99.0.0/24, not a subnet inside clusterCIDR 10.244.0.0/16; refusing it',
    );
  });

  it('ingress and a kubeconfig outside Kubernetes mode are config errors', () => {
    const doc = (agent: unknown) => ({
      cluster: 'k8s',
      clusterCIDR: '10.244.0.0/16',
      provider: { type: 'gce', project: 'p', network: 'n' },
      agent,
    });
    expect(() => validateConfig(doc({ identity: { kubeconfig } }))).toThrow(ConfigError);
    expect(() => validateConfig(doc({ identity: { kubeconfig } }))).toThrow(
      'agent.identity.kubeconfig: only applies to identity.source kubernetes',
    );
  });
});
