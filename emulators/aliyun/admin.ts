// The Aliyun emulator's admin API (`/_emulator/…`): its state, VMs added and terminated, routes made
// outside routesync (another writer's route task included), quotas.
import { AdminError, type EmulatorAdmin } from '../shared/types.ts';
import { normaliseDestination } from './state.ts';
import type { AliyunWorld } from './world.ts';

export function aliyunAdmin(w: AliyunWorld): EmulatorAdmin {
  const { profile, clock, defaultTags, inventory, vpc, settleAt, instanceAlive, adminTable } = w;
  return {
    state() {
      vpc.settle(clock.now());
      return {
        instances: inventory.list().map((i) => ({
          id: i.id,
          name: i.name,
          privateIp: i.privateIp,
          zone: i.zone,
          state: i.state,
          tags: { ...i.tags },
        })),
        tables: [...vpc.tables.values()].map((t) => ({
          id: t.id,
          quota: t.quota,
          routes: [...t.entries.values()].map((e) => ({
            destination: e.destination,
            target: e.nextHopType === 'Instance' ? e.nextHopId : null,
            nextHop:
              e.nextHopType === 'Instance'
                ? e.nextHopId
                : e.nextHopType === 'local' || e.nextHopType === 'service'
                  ? e.nextHopType
                  : `${e.nextHopType}:${e.nextHopId}`,
            state:
              e.status !== 'Available'
                ? 'pending'
                : e.nextHopType === 'Instance' && !instanceAlive(e.nextHopId)
                  ? 'blackhole'
                  : 'active',
            ...(e.name ? { name: e.name } : {}),
            ...(e.description ? { description: e.description } : {}),
          })),
        })),
      };
    },

    addInstances(body) {
      return inventory.addFromAdmin(body, defaultTags);
    },

    terminateInstance(id) {
      const i = inventory.get(id);
      if (!i || i.state === 'terminated') return false;
      inventory.terminate(id);
      return true;
    },

    addRoute(body) {
      const b = adminBody(body, 'routes');
      const t = adminTable(b);
      if (typeof b.destination !== 'string')
        throw new AdminError('routes.destination: required, a CIDR such as 10.0.0.0/24');
      const dest = normaliseDestination(b.destination);
      if (dest === null)
        throw new AdminError(`routes.destination: ${JSON.stringify(b.destination)} is not a valid IPv4 CIDR`);
      if (t.entries.has(dest)) throw new AdminError(`routes.destination: ${dest} already has an entry in ${t.id}`, 409);
      let type: string;
      let hop: string;
      if (typeof b.target === 'string') {
        if (!inventory.get(b.target)) throw new AdminError(`routes.target: no instance ${b.target}`);
        type = 'Instance';
        hop = b.target;
      } else if (typeof b.nextHop === 'string' && b.nextHop !== '') {
        [type, hop] = parseFreeHop(b.nextHop);
      } else {
        throw new AdminError('routes: give target (an instance id) or nextHop');
      }
      if (b.task !== undefined && typeof b.task !== 'boolean' && !(Number.isInteger(b.task) && (b.task as number) > 0))
        throw new AdminError('routes.task: true, or the emulated ms the route task runs');
      vpc.settle(clock.now());
      // `task: true` plays another writer of the VPC (console, Terraform, the CCM): the entry goes through
      // a route task of its own, Pending, and the VPC answers TaskConflict / OperationConflict meanwhile
      // (for the profile's taskMs, or the ms given).
      const task = b.task !== undefined && b.task !== false;
      const e = vpc.put(
        t,
        {
          destination: dest,
          type: 'Custom',
          nextHopType: type,
          nextHopId: hop,
          name: typeof b.name === 'string' ? b.name : '',
          description: typeof b.description === 'string' ? b.description : '',
        },
        task ? 'Pending' : 'Available',
        task ? settleAt() : clock.now(),
        clock.now(),
      );
      if (task) t.taskUntil = clock.now() + (typeof b.task === 'number' ? b.task : profile.taskMs);
      return { id: e.id, table: t.id, destination: dest, nextHopType: type, nextHopId: hop };
    },

    deleteRoute(body) {
      const b = adminBody(body, 'routes');
      const t = adminTable(b);
      if (typeof b.destination !== 'string') throw new AdminError('routes.destination: required');
      const dest = normaliseDestination(b.destination);
      if (dest === null)
        throw new AdminError(`routes.destination: ${JSON.stringify(b.destination)} is not a valid IPv4 CIDR`);
      const e = t.entries.get(dest);
      if (!e || e.type === 'System') return false;
      t.entries.delete(dest);
      return true;
    },

    setQuota(body) {
      const b = adminBody(body, 'quota');
      if (!Number.isInteger(b.limit) || (b.limit as number) < 0)
        throw new AdminError('quota.limit: must be a non-negative integer');
      if (b.table !== undefined) adminTable(b).quota = b.limit as number;
      else for (const t of vpc.tables.values()) t.quota = b.limit as number;
    },
  };
}

function adminBody(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AdminError(`${what}: body must be a JSON object`);
  return body as Record<string, unknown>;
}

const HOP_PREFIXES: Array<[string, string]> = [
  ['vpn-', 'VpnGateway'],
  ['ngw-', 'NatGateway'],
  ['eni-', 'NetworkInterface'],
  ['havip-', 'HaVip'],
  ['ri-', 'RouterInterface'],
  ['tr-', 'Attachment'],
  ['pcc-', 'VpcPeer'],
];

/** `Type:id` as given, else the type the id's prefix names (vpn- → VpnGateway …). */
function parseFreeHop(text: string): [string, string] {
  const i = text.indexOf(':');
  if (i > 0) return [text.slice(0, i), text.slice(i + 1)];
  const hit = HOP_PREFIXES.find(([prefix]) => text.startsWith(prefix));
  return [hit ? hit[1] : 'RouterInterface', text];
}
