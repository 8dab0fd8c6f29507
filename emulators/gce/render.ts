// How the GCE emulator renders its resources as Compute v1 does: routes (with the warnings Compute puts on a
// route whose next hop cannot carry traffic), operations and instances.
import type { EmuInstance, EmuInventory } from '../shared/inventory.ts';
import type { EmuOperation, EmuRoute, GceState } from './state.ts';
import { rfc3339, type Urls } from './wire.ts';

const STATUS: Record<EmuInstance['state'], string | null> = {
  pending: 'STAGING',
  running: 'RUNNING',
  stopping: 'STOPPING',
  stopped: 'TERMINATED',
  terminated: null,
};

/** What the renderers read, from the emulator they belong to. */
export interface GceRenderDeps {
  state: GceState;
  inventory: EmuInventory;
  /** VMs created with canIpForward false. */
  noForward: Set<string>;
  numericIds: Map<string, string>;
  /** The network and region the VMs' interfaces are on. */
  network: string;
  region: string;
}

export function gceRenderers(d: GceRenderDeps) {
  const { state, inventory, noForward, numericIds, network, region } = d;
  const visibleInstance = (zone: string, name: string): EmuInstance | undefined => {
    const i = inventory.get(`${zone}/${name}`);
    return i && i.state !== 'terminated' ? i : undefined;
  };

  function hopWarnings(r: EmuRoute): Array<{ code: string; message: string }> {
    if (r.hop.kind !== 'instance') return [];
    const inst = visibleInstance(r.hop.zone, r.hop.name);
    if (!inst)
      return [{ code: 'NEXT_HOP_INSTANCE_NOT_FOUND', message: `Next hop instance '${r.hop.name}' does not exist.` }];
    if (inst.state !== 'running')
      return [{ code: 'NEXT_HOP_NOT_RUNNING', message: `Next hop instance '${r.hop.name}' is not running.` }];
    // Compute creates the route and says why it carries nothing (kubernetes#52398): re-inserting changes nothing.
    if (noForward.has(inst.id))
      return [
        {
          code: 'NEXT_HOP_CANNOT_IP_FORWARD',
          message: `Next hop instance '${r.hop.name}' cannot ip forward.`,
        },
      ];
    return [];
  }

  function renderRoute(r: EmuRoute, u: Urls): Record<string, unknown> {
    const hop: Record<string, string> = {};
    if (r.hop.kind === 'instance') hop.nextHopInstance = u.instance(r.hop.zone, r.hop.name);
    if (r.hop.kind === 'gateway') hop.nextHopGateway = u.global('gateways', r.hop.name);
    if (r.hop.kind === 'ip') hop.nextHopIp = r.hop.ip;
    if (r.hop.kind === 'network') hop.nextHopNetwork = u.global('networks', r.hop.network);
    if (r.hop.kind === 'vpnTunnel') hop.nextHopVpnTunnel = `${u.region(r.hop.region)}/vpnTunnels/${r.hop.name}`;
    const warnings = hopWarnings(r).map((w) => ({
      ...w,
      data: [{ key: 'instance', value: r.hop.kind === 'instance' ? r.hop.name : '' }],
    }));
    return {
      kind: 'compute#route',
      id: r.id,
      creationTimestamp: rfc3339(r.createdAt),
      name: r.name,
      ...(r.description ? { description: r.description } : {}),
      network: u.global('networks', r.network),
      destRange: r.destRange,
      priority: r.priority,
      ...(r.tags.length ? { tags: r.tags } : {}),
      ...hop,
      routeType: r.routeType,
      selfLink: u.global('routes', r.name),
      ...(warnings.length ? { warnings } : {}),
    };
  }

  function renderOp(op: EmuOperation, u: Urls): Record<string, unknown> {
    const status = state.opStatus(op);
    const done = status === 'DONE';
    return {
      kind: 'compute#operation',
      id: op.id,
      name: op.name,
      operationType: op.type,
      targetLink: u.global('routes', op.targetName),
      targetId: op.targetId,
      status,
      user: op.user,
      progress: done ? 100 : 0,
      insertTime: rfc3339(op.createdAt),
      ...(status !== 'PENDING' ? { startTime: rfc3339(op.startAt) } : {}),
      ...(done ? { endTime: rfc3339(op.doneAt) } : {}),
      selfLink: u.global('operations', op.name),
      ...(done && op.error
        ? {
            error: { errors: [{ code: op.error.code, message: op.error.message }] },
            httpErrorStatusCode: op.error.http,
            httpErrorMessage: op.error.http === 403 ? 'FORBIDDEN' : 'BAD REQUEST',
          }
        : {}),
    };
  }

  function renderInstance(i: EmuInstance, u: Urls): Record<string, unknown> {
    return {
      kind: 'compute#instance',
      id: numericIds.get(i.id) ?? '0',
      creationTimestamp: rfc3339(i.createdAt),
      name: i.name,
      machineType: `${u.zone(i.zone)}/machineTypes/e2-standard-4`,
      status: STATUS[i.state],
      zone: u.zone(i.zone),
      canIpForward: !noForward.has(i.id),
      networkInterfaces: [
        {
          kind: 'compute#networkInterface',
          name: 'nic0',
          network: u.global('networks', network),
          subnetwork: `${u.region(region)}/subnetworks/${network}-${region}`,
          networkIP: i.privateIp,
        },
      ],
      labels: i.tags,
      selfLink: u.instance(i.zone, i.name),
    };
  }

  return { visibleInstance, hopWarnings, renderRoute, renderOp, renderInstance };
}
