// `npm start -- --inventory kubernetes`: the demo's Kubernetes side. The Kubernetes API emulator runs beside
// the cloud emulator with one Node per VM (spec.providerID naming it, as the cloud's cloud-provider writes
// it), a kubeconfig for it in the demo's dir, and the config's inventory.source and store.type kubernetes
// (Nodes as inventory, a Lease for leadership, podCIDRs written in allocate mode). VM churn adds and deletes
// the Node with the VM, as a kubelet and the cloud's node lifecycle controller would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProviderKind } from '../../providers/plugins.ts';
import { loadKubeEmulator } from './dev-emulators.ts';

export const DEMO_NAMESPACE = 'routesync';

/** The columns that show what routesync does to a Node: its VM, the podCIDR it wrote, NetworkUnavailable. */
const NODE_COLUMNS = [
  'NAME:.metadata.name',
  'PROVIDER-ID:.spec.providerID',
  'POD-CIDR:.spec.podCIDR',
  'NETWORK-UNAVAILABLE:.status.conditions[?(@.type=="NetworkUnavailable")].status',
  'REASON:.status.conditions[?(@.type=="NetworkUnavailable")].reason',
].join(',');

/** One shell word: left as it is when it is plain, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface DemoKube {
  url: string;
  kubeconfig: string;
  /** The kubectl command (for a shell) that lists the Nodes with their podCIDRs and NetworkUnavailable. */
  nodesCommand: string;
  /** The kubectl command that shows the Lease the controller leads by. */
  leaseCommand: string;
  /** The config's part for Kubernetes mode. */
  config: Record<string, unknown>;
  /** Registers the Node of a VM the cloud emulator now has (by id); resolves to its name. */
  addNodeFor(cloudUrl: string, vmId: string): Promise<string>;
  /** Deletes the Node of a VM; resolves to its name, or undefined when there is none. */
  removeNodeOf(vmId: string): Promise<string | undefined>;
  close(): Promise<void>;
}

interface CloudState {
  instances: Array<{ id: string; state: string }>;
}

async function cloudState(cloudUrl: string): Promise<CloudState> {
  const r = await fetch(`${cloudUrl}/_emulator/state`);
  if (!r.ok) throw new Error(`the cloud emulator answered ${r.status} to GET /_emulator/state`);
  return (await r.json()) as CloudState;
}

export async function startDemoKube(kind: ProviderKind, cloudUrl: string, dir: string): Promise<DemoKube> {
  const k = await loadKubeEmulator('demo');
  // One Node per live VM, as `emulators/kubernetes/main.ts --from-cloud` registers them.
  const state = await cloudState(cloudUrl);
  const seeds = k.seedsFromCloudState(kind, state);
  // seedsFromCloudState keeps the live VMs in their order: the i-th seed is the i-th live VM's Node.
  const nodeOf = new Map<string, string>();
  state.instances
    .filter((i) => i.state !== 'terminated')
    .forEach((i, n) => {
      const name = seeds[n]?.name;
      if (name) nodeOf.set(i.id, name);
    });
  const kube = await k.startKubeEmulator({ host: '127.0.0.1', nodes: seeds });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeconfig({ namespace: DEMO_NAMESPACE }), { mode: 0o600 });
  const kc = `kubectl --kubeconfig ${shellWord(kubeconfig)}`;
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${kube.url}/_emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!r.ok) throw new Error(`the Kubernetes API emulator answered ${r.status} to ${method} /_emulator/${path}`);
  };
  return {
    url: kube.url,
    kubeconfig,
    nodesCommand: `${kc} get nodes -o ${shellWord(`custom-columns=${NODE_COLUMNS}`)}`,
    leaseCommand: `${kc} get lease -n ${DEMO_NAMESPACE}`,
    config: {
      inventory: { source: 'kubernetes' },
      store: { type: 'kubernetes' },
      kubernetes: { kubeconfig, namespace: DEMO_NAMESPACE, podCIDR: 'allocate' },
    },
    async addNodeFor(url, vmId) {
      const inst = (await cloudState(url)).instances.find((i) => i.id === vmId);
      if (!inst) throw new Error(`the cloud emulator has no VM ${vmId}`);
      const [seed] = k.seedsFromCloudState(kind, { instances: [inst] });
      if (!seed) throw new Error(`VM ${vmId} is not running`);
      await admin('POST', 'nodes', seed);
      nodeOf.set(vmId, seed.name);
      return seed.name;
    },
    async removeNodeOf(vmId) {
      const name = nodeOf.get(vmId);
      if (!name) return undefined;
      await admin('DELETE', `nodes/${encodeURIComponent(name)}`);
      nodeOf.delete(vmId);
      return name;
    },
    close: () => kube.close(),
  };
}
