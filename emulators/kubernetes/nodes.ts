// Node objects as a kubelet registers them, for VMs of the cloud emulators: spec.providerID in the form each
// cloud's cloud-provider writes (the plug-in's providerId form) so the Node and the VM can be matched the way
// the cloud controllers do.
import { PLUGINS, PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { EMULATOR_PLUGINS } from '../clouds.ts';
import { AdminError } from '../shared/types.ts';
import type { Obj } from './status.ts';

export type CloudKind = ProviderKind;

export interface CloudInstance {
  /** Instance id (GCE: `<zone>/<name>`, names being unique per zone only; a bare name is taken as the name). */
  id: string;
  zone: string;
  privateIp?: string;
  name?: string;
}

export interface CloudTopology {
  /** GCE project. */
  project?: string;
  /** Aliyun region id. */
  region?: string;
}

/** The providerID the cloud's cloud-provider writes for `inst`: the plug-in's own form (providers/<cloud>/provider-id.ts). */
export function providerIdFor(kind: CloudKind, inst: CloudInstance, topo: CloudTopology = {}): string {
  const form = PLUGINS[kind].providerId;
  for (const field of form.location) {
    if (field !== 'zone' && !topo[field]) throw new Error(`providerIdFor ${kind}: the ${field} is needed`);
  }
  return form.format({ instanceId: inst.id, zone: inst.zone, ...topo });
}

export interface NodeSeed {
  name: string;
  providerID?: string;
  internalIP?: string;
  zone?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  podCIDR?: string;
  finalizers?: string[];
  /** Ready condition status; default True. */
  ready?: boolean;
  unschedulable?: boolean;
}

function str(x: Obj, k: string, where: string): string | undefined {
  const v = x[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new AdminError(`${where}.${k}: must be a string`);
  return v;
}

function strMap(x: Obj, k: string, where: string): Record<string, string> | undefined {
  const v = x[k];
  if (v === undefined) return undefined;
  if (
    typeof v !== 'object' ||
    v === null ||
    Array.isArray(v) ||
    !Object.values(v).every((s) => typeof s === 'string')
  ) {
    throw new AdminError(`${where}.${k}: must be an object of strings`);
  }
  return v as Record<string, string>;
}

/** One admin-API node description (`POST /_emulator/nodes`), checked field by field. */
export function parseNodeSeed(x: unknown, where: string): NodeSeed {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new AdminError(`${where}: must be an object`);
  const o = x as Obj;
  const name = str(o, 'name', where);
  if (!name) throw new AdminError(`${where}.name: required`);
  const seed: NodeSeed = { name };
  for (const k of ['providerID', 'internalIP', 'zone', 'podCIDR'] as const) {
    const v = str(o, k, where);
    if (v !== undefined) seed[k] = v;
  }
  const labels = strMap(o, 'labels', where);
  if (labels) seed.labels = labels;
  const annotations = strMap(o, 'annotations', where);
  if (annotations) seed.annotations = annotations;
  if (o.finalizers !== undefined) {
    if (!Array.isArray(o.finalizers) || !o.finalizers.every((f) => typeof f === 'string'))
      throw new AdminError(`${where}.finalizers: must be a list of strings`);
    seed.finalizers = o.finalizers as string[];
  }
  for (const k of ['ready', 'unschedulable'] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'boolean') throw new AdminError(`${where}.${k}: must be true or false`);
    seed[k] = o[k];
  }
  return seed;
}

/** Seeds for the cloud emulator's VMs (its `/_emulator/state` instances), Node named after the VM. */
export function seedsForInstances(kind: CloudKind, instances: CloudInstance[], topo: CloudTopology = {}): NodeSeed[] {
  return instances.map((i) => ({
    name: (i.name ?? i.id).toLowerCase(),
    providerID: providerIdFor(kind, i, topo),
    zone: i.zone,
    ...(i.privateIp ? { internalIP: i.privateIp } : {}),
  }));
}

/**
 * The location ids the cloud emulators serve (GCE project, Aliyun region: each cloud's providerID location
 * fields, taken from its emulator's topology), for their VMs' providerIDs.
 */
export const CLOUD_EMULATOR_TOPOLOGY: CloudTopology = Object.assign(
  {},
  ...PROVIDER_KINDS.map((kind) => {
    const topology = EMULATOR_PLUGINS[kind].topology as CloudTopology;
    const fields = PLUGINS[kind].providerId.location.filter((f): f is keyof CloudTopology => f !== 'zone');
    return Object.fromEntries(fields.flatMap((f) => (topology[f] ? [[f, topology[f]]] : [])));
  }),
);

/**
 * Nodes for the live VMs in a cloud emulator's `GET /_emulator/state`, so a Kubernetes emulator and a
 * cloud emulator run side by side with matching providerIDs. A state of the wrong shape is an error
 * naming the field, never "no VMs".
 */
export function seedsFromCloudState(
  kind: CloudKind,
  state: unknown,
  topo: CloudTopology = CLOUD_EMULATOR_TOPOLOGY,
): NodeSeed[] {
  const list = typeof state === 'object' && state !== null ? (state as Obj).instances : undefined;
  if (!Array.isArray(list)) throw new Error('cloud emulator state: instances must be a list');
  const live: CloudInstance[] = [];
  list.forEach((x: unknown, i) => {
    const o = (typeof x === 'object' && x !== null ? x : {}) as Obj;
    for (const k of ['id', 'zone', 'state'] as const) {
      if (typeof o[k] !== 'string' || o[k] === '')
        throw new Error(`cloud emulator state: instances[${i}].${k} must be a non-empty string`);
    }
    if (o.state === 'terminated') return;
    live.push({
      id: o.id as string,
      zone: o.zone as string,
      ...(typeof o.name === 'string' ? { name: o.name } : {}),
      ...(typeof o.privateIp === 'string' ? { privateIp: o.privateIp } : {}),
    });
  });
  return seedsForInstances(kind, live, topo);
}

export function nodeFromSeed(s: NodeSeed, nowIso: string): Obj {
  const ready = s.ready ?? true;
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: nowIso,
    lastTransitionTime: nowIso,
    reason,
    message,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.name,
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': s.name,
        ...(s.zone ? { 'topology.kubernetes.io/zone': s.zone } : {}),
        ...(s.labels ?? {}),
      },
      ...(s.annotations ? { annotations: s.annotations } : {}),
      ...(s.finalizers ? { finalizers: s.finalizers } : {}),
    },
    spec: {
      ...(s.providerID ? { providerID: s.providerID } : {}),
      ...(s.podCIDR ? { podCIDR: s.podCIDR, podCIDRs: [s.podCIDR] } : {}),
      ...(s.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        ready
          ? cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
          : cond('Ready', 'False', 'KubeletNotReady', 'container runtime network not ready'),
      ],
      addresses: [
        ...(s.internalIP ? [{ type: 'InternalIP', address: s.internalIP }] : []),
        { type: 'Hostname', address: s.name },
      ],
      capacity: { cpu: '2', memory: '8148440Ki', pods: '110', 'ephemeral-storage': '20134592Ki' },
      allocatable: { cpu: '1930m', memory: '7270360Ki', pods: '110', 'ephemeral-storage': '18556039957' },
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: '00000000000000000000000000000000',
        systemUUID: '00000000-0000-0000-0000-000000000000',
        bootID: '00000000-0000-0000-0000-000000000000',
        kernelVersion: '6.1.0-28-cloud-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}
