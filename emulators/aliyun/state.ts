// The emulated VPC: one vRouter with its route tables and their entries. Entry states move on the emulated
// clock lazily (every read or write first settles what is due), so no timers outlive a test.
import { contains, formatCidr, parseCidr, type Cidr } from '../../src/lib/cidr.ts';

export type EntryStatus = 'Pending' | 'Available' | 'Modifying' | 'Deleting';

export interface RouteEntry {
  id: string;
  tableId: string;
  destination: string;
  type: 'Custom' | 'System';
  nextHopType: string;
  nextHopId: string;
  name: string;
  description: string;
  status: EntryStatus;
  /** Emulated time at which a Pending/Modifying entry becomes Available, or a Deleting one disappears. */
  settleAt: number;
  createdAt: number;
}

export interface RouteTableState {
  id: string;
  name: string;
  type: 'System' | 'Custom';
  quota: number;
  /** Insertion order is the listing order (system entries first, as the console shows them). */
  entries: Map<string, RouteEntry>;
  /** The table's current route task runs until then: any other change gets TaskConflict. */
  taskUntil: number;
  createdAt: number;
}

export interface VSwitch {
  id: string;
  cidr: string;
  zone: string;
}

export class VpcState {
  readonly vpcId: string;
  readonly vRouterId: string;
  readonly cidr: string;
  readonly vswitches: VSwitch[];
  readonly tables = new Map<string, RouteTableState>();
  private serial = 0;
  private readonly idBase: string;

  constructor(opts: { vpcId: string; vRouterId: string; cidr: string; vswitches: VSwitch[]; idBase: string }) {
    this.vpcId = opts.vpcId;
    this.vRouterId = opts.vRouterId;
    this.cidr = opts.cidr;
    this.vswitches = opts.vswitches;
    this.idBase = opts.idBase;
  }

  addTable(id: string, name: string, type: 'System' | 'Custom', quota: number, now: number): RouteTableState {
    const t: RouteTableState = { id, name, type, quota, entries: new Map(), taskUntil: 0, createdAt: now };
    this.tables.set(id, t);
    for (const sw of this.vswitches)
      this.put(
        t,
        { destination: sw.cidr, type: 'System', nextHopType: 'local', nextHopId: '', name: '', description: '' },
        'Available',
        now,
        now,
      );
    this.put(
      t,
      {
        destination: '100.64.0.0/10',
        type: 'System',
        nextHopType: 'service',
        nextHopId: '',
        name: '',
        description: '',
      },
      'Available',
      now,
      now,
    );
    return t;
  }

  nextEntryId(): string {
    this.serial++;
    return `rte-${this.idBase}${this.serial.toString(36).padStart(12, '0')}`;
  }

  put(
    t: RouteTableState,
    e: Pick<RouteEntry, 'destination' | 'type' | 'nextHopType' | 'nextHopId' | 'name' | 'description'>,
    status: EntryStatus,
    settleAt: number,
    now: number,
  ): RouteEntry {
    const entry: RouteEntry = { ...e, id: this.nextEntryId(), tableId: t.id, status, settleAt, createdAt: now };
    t.entries.set(e.destination, entry);
    return entry;
  }

  /** Applies every state change that is due at `now`. */
  settle(now: number): void {
    for (const t of this.tables.values()) {
      for (const [dest, e] of t.entries) {
        if (e.status === 'Available' || e.settleAt > now) continue;
        if (e.status === 'Deleting') t.entries.delete(dest);
        else e.status = 'Available';
      }
    }
  }

  customCount(t: RouteTableState): number {
    let n = 0;
    for (const e of t.entries.values()) if (e.type === 'Custom') n++;
    return n;
  }

  /** Why a custom destination is refused by the VPC (vSwitch overlap, the reserved service range), if it is. */
  forbiddenDestination(c: Cidr): boolean {
    const service = parseCidr('100.64.0.0/10');
    if (contains(service, c)) return true;
    // The API reference: a custom destination may contain a vSwitch CIDR but not equal or sit inside one.
    return this.vswitches.some((sw) => contains(parseCidr(sw.cidr), c));
  }

  findById(id: string): RouteEntry | undefined {
    for (const t of this.tables.values()) for (const e of t.entries.values()) if (e.id === id) return e;
    return undefined;
  }

  unstable(t: RouteTableState): boolean {
    for (const e of t.entries.values()) if (e.status !== 'Available') return true;
    return false;
  }
}

/** `10.0.0.1` means `/32`, as the real API documents; anything else must be a strict CIDR. */
export function normaliseDestination(text: string): string | null {
  const t = text.includes('/') ? text : `${text}/32`;
  try {
    return formatCidr(parseCidr(t));
  } catch {
    return null;
  }
}
