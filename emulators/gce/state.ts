// What the GCE emulator remembers: networks, routes (project-wide, each on one network), the project's
// ROUTES quota and global operations. Operations finish on the emulated clock; their effects are applied
// lazily (on the next request or state read) in completion order, so no timers outlive the emulator.
import type { EmuClock } from '../shared/clock.ts';
import type { Rng } from '../shared/rng.ts';

export type RouteHop =
  | { kind: 'instance'; zone: string; name: string }
  | { kind: 'gateway'; name: string }
  | { kind: 'ip'; ip: string }
  | { kind: 'network'; network: string }
  | { kind: 'vpnTunnel'; region: string; name: string };

export interface EmuRoute {
  id: string;
  name: string;
  network: string;
  destRange: string;
  priority: number;
  description: string;
  createdAt: number;
  hop: RouteHop;
  routeType: 'STATIC' | 'SUBNET';
  /** Created by the platform (default internet route, subnet routes): not counted against ROUTES. */
  system: boolean;
  tags: string[];
}

export interface EmuOperation {
  id: string;
  name: string;
  type: 'insert' | 'delete';
  targetName: string;
  targetId: string;
  user: string;
  createdAt: number;
  startAt: number;
  doneAt: number;
  error?: { code: string; message: string; http: number };
  effect?: () => void;
  applied: boolean;
}

export interface EmuNetwork {
  name: string;
  id: string;
  subnet: { name: string; region: string; range: string };
  createdAt: number;
}

export class GceState {
  readonly networks = new Map<string, EmuNetwork>();
  readonly routes = new Map<string, EmuRoute>();
  /** Inserts accepted but not DONE: they hold their name and a unit of quota. */
  readonly pendingInserts = new Map<string, EmuRoute>();
  readonly pendingDeletes = new Set<string>();
  readonly operations = new Map<string, EmuOperation>();
  routeQuota: number;
  private serial = 0;
  private readonly clock: EmuClock;
  private readonly rng: Rng;

  constructor(clock: EmuClock, rng: Rng, routeQuota: number) {
    this.clock = clock;
    this.rng = rng;
    this.routeQuota = routeQuota;
  }

  nextId(): string {
    this.serial++;
    return String(4_000_000_000_000_000_000n + BigInt(this.serial) * 7919n);
  }

  addNetwork(name: string, subnet: EmuNetwork['subnet']): void {
    const now = this.clock.now();
    this.networks.set(name, { name, id: this.nextId(), subnet, createdAt: now });
    this.put({
      name: `default-route-${this.hex(16)}`,
      network: name,
      destRange: '0.0.0.0/0',
      priority: 1000,
      description: 'Default route to the Internet.',
      hop: { kind: 'gateway', name: 'default-internet-gateway' },
      routeType: 'STATIC',
      system: true,
    });
    this.put({
      name: `default-route-${this.hex(16)}`,
      network: name,
      destRange: subnet.range,
      priority: 0,
      description: `Default local route to the subnetwork ${subnet.range}.`,
      hop: { kind: 'network', network: name },
      routeType: 'SUBNET',
      system: true,
    });
  }

  put(r: Omit<EmuRoute, 'id' | 'createdAt' | 'tags'> & { tags?: string[] }): EmuRoute {
    const route: EmuRoute = { id: this.nextId(), createdAt: this.clock.now(), tags: [], ...r };
    this.routes.set(route.name, route);
    return route;
  }

  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.rng() * 16).toString(16);
    return s;
  }

  /** Routes counted against the project's ROUTES quota, including inserts still in flight. */
  quotaUsage(): number {
    let n = this.pendingInserts.size;
    for (const r of this.routes.values()) if (!r.system) n++;
    return n;
  }

  /** Applies every operation whose completion time has passed, oldest first. */
  settle(): void {
    const now = this.clock.now();
    const due = [...this.operations.values()]
      .filter((o) => !o.applied && o.doneAt <= now)
      .sort((a, b) => a.doneAt - b.doneAt);
    for (const o of due) {
      o.applied = true;
      o.effect?.();
    }
  }

  newOperation(
    type: EmuOperation['type'],
    targetName: string,
    targetId: string,
    user: string,
    timing: { startMs: number; doneMs: number },
    effect?: () => void,
    error?: EmuOperation['error'],
  ): EmuOperation {
    const now = this.clock.now();
    const op: EmuOperation = {
      id: this.nextId(),
      name: `operation-${now}-${this.hex(13)}-${this.hex(8)}`,
      type,
      targetName,
      targetId,
      user,
      createdAt: now,
      startAt: now + timing.startMs,
      doneAt: now + Math.max(timing.doneMs, timing.startMs),
      applied: false,
      ...(effect ? { effect } : {}),
      ...(error ? { error } : {}),
    };
    this.operations.set(op.name, op);
    return op;
  }

  opStatus(op: EmuOperation): 'PENDING' | 'RUNNING' | 'DONE' {
    const now = this.clock.now();
    if (now >= op.doneAt) return 'DONE';
    return now >= op.startAt ? 'RUNNING' : 'PENDING';
  }
}
