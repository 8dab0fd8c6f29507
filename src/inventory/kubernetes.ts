// inventory.source kubernetes (issue 14 item 2): the cluster's Nodes, listed then watched (change signals
// coalesced by reconcile.debounce; the controller's full pass every reconcile.interval reads them again), each
// mapped to its VM by spec.providerID. A Node naming a VM the cloud says it does not have is a finding, like
// a Node without a usable providerID: no route, never a guess.
import type { Logger } from 'pino';
import type { ProviderKind } from '../../providers/plugins.ts';
import type { CloudProvider, Instance } from '../../providers/types.ts';
import type { Config } from '../config.ts';
import type { Clock } from '../lib/clock.ts';
import { type KubeClient, openKubeClient } from '../kubernetes/client.ts';
import { parseLabelMatch } from '../kubernetes/config.ts';
import { kubernetesInventory, type NodeFinding } from '../kubernetes/node-inventory.ts';
import { nodeStatuses, type NodeStatus } from '../kubernetes/node-status.ts';
import { EXCLUDE_LABEL, NodeWatch } from '../kubernetes/node-watch.ts';
import { providerIdExpectation } from '../kubernetes/provider-id.ts';
import type { InventorySource } from './source.ts';

export interface NodeInventory extends InventorySource {
  /** Nodes left out of the last list, one line each (Events, the metric and status report them). */
  findings(): readonly NodeFinding[];
  nodeOf(vmId: string): string | undefined;
  /** The client and the Node watch, for the Node reports (src/kubernetes/node-reporter.ts) and the store's cache. */
  readonly kube: KubeClient;
  readonly nodeWatch: NodeWatch;
  /** One row per Node, the excluded ones too, as the watch holds them now, with the last list's findings. */
  nodeStatus(): NodeStatus[];
  /** podCIDR read mode: the Nodes listed without a podCIDR yet (no route until the IPAM writes one). */
  pending(): readonly string[];
  close(): Promise<void>;
}

/** Watch events this close together are one change signal (the controller then waits reconcile.debounce). */
const WATCH_BATCH_MS = 100;

/** Opens the client, lists the Nodes (a failed first list throws: I3) and keeps watching until close(). */
export async function openNodeInventory(
  config: Pick<Config, 'kubernetes' | 'reconcile' | 'provider'> & Partial<Pick<Config, 'clusterCIDR' | 'subnetLen'>>,
  cloud: Pick<CloudProvider, 'lookupInstances'>,
  deps: { logger: Logger; clock?: Clock; listOnly?: boolean },
): Promise<NodeInventory> {
  const kube = await openKubeClient({
    ...(config.kubernetes.kubeconfig
      ? { kubeconfig: config.kubernetes.kubeconfig, field: 'kubernetes.kubeconfig' }
      : {}),
  });
  const exclude = parseLabelMatch(config.kubernetes.excludeLabel);
  const watch = new NodeWatch({
    kube,
    logger: deps.logger,
    // The controller coalesces change signals by reconcile.debounce from the first one; the watch only
    // gathers a burst of events into one signal. Debouncing here too made a new Node wait twice
    // (bench/kubernetes.ts: 2 s more per Node before its pass and its True / NoRouteCreated).
    debounceMs: Math.min(config.reconcile.debounce, WATCH_BATCH_MS),
    ...(exclude ? { exclude } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  // A one-off command lists once: its Nodes are one list's, and it opens no watch it would not read.
  try {
    await watch.start({ watch: deps.listOnly !== true });
  } catch (e) {
    // The first list names the API server and where its address came from: the usual cause is a wrong one.
    throw new Error(`Kubernetes API ${kube.server} (${kube.source}): ${(e as Error).message}`, { cause: e });
  }
  deps.logger.info({ source: kube.source, server: kube.server }, 'inventory: Kubernetes Nodes');
  const readPool =
    config.kubernetes.podCIDR === 'read' && config.clusterCIDR !== undefined && config.subnetLen !== undefined
      ? { clusterCIDR: config.clusterCIDR, subnetLen: config.subnetLen }
      : undefined;
  if (config.kubernetes.podCIDR === 'read' && !readPool)
    throw new Error('kubernetes.podCIDR: read needs clusterCIDR and subnetLen to check the Nodes’ podCIDRs against');
  const nodes = kubernetesInventory(
    watch,
    config.provider.type as ProviderKind,
    providerIdExpectation(config.provider),
    readPool,
  );
  let missing: NodeFinding[] = [];
  // One log line per finding when it appears, not one per pass while it lasts.
  let logged = new Set<string>();
  let waiting = new Set<string>();
  return {
    kind: 'kubernetes',
    watch: (onChange) => nodes.watch?.(onChange) ?? (() => undefined),
    async list(signal) {
      const mapped = await nodes.list(signal);
      // The cloud is asked about each VM by id: a Node whose VM is gone (or in another account) gets no route.
      const found =
        mapped.length > 0
          ? await cloud.lookupInstances(
              mapped.map((i) => i.id),
              signal,
            )
          : new Map();
      const out: Instance[] = [];
      missing = [];
      for (const inst of mapped) {
        const state = found.get(inst.id);
        if (state === 'notFound' || state === undefined) {
          missing.push({
            node: inst.name,
            // A providerID that parses but names nothing: as unusable as one that does not parse.
            kind: 'vm-not-found',
            detail: `Node ${inst.name}: the cloud has no VM ${inst.id} (spec.providerID); no route`,
          });
          continue;
        }
        out.push(state === 'running' || inst.state !== 'running' ? inst : { ...inst, state });
      }
      const now = new Set<string>();
      for (const f of [...nodes.findings(), ...missing]) {
        now.add(f.detail);
        if (!logged.has(f.detail)) deps.logger.warn({ node: f.node, finding: f.kind }, f.detail);
      }
      logged = now;
      // Pending is news once per Node, at info: it is the normal state of a Node just joined.
      const still = new Set(nodes.pending());
      for (const name of still)
        if (!waiting.has(name))
          deps.logger.info(
            { node: name },
            `Node ${name}: no spec.podCIDR yet (kubernetes.podCIDR read: the IPAM has not allocated one); no route until it has`,
          );
      waiting = still;
      return out;
    },
    findings: () => [...nodes.findings(), ...missing],
    nodeOf: (id) => nodes.nodeOf(id),
    kube,
    nodeWatch: watch,
    nodeStatus: () =>
      nodeStatuses({
        nodes: watch.allNodes(),
        exclude: exclude ?? { key: EXCLUDE_LABEL, value: 'true' },
        cloud: config.provider.type as ProviderKind,
        expect: providerIdExpectation(config.provider),
        findings: [...nodes.findings(), ...missing],
      }),
    pending: () => nodes.pending(),
    close: () => watch.stop(),
  };
}
