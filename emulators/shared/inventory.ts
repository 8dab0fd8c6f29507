import { AdminError } from './types.ts';

// The VM model the three emulators share: they differ in id formats and wire shapes, not in what a VM is.
export type EmuInstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminated';

export interface EmuInstance {
  id: string;
  name: string;
  privateIp: string;
  zone: string;
  state: EmuInstanceState;
  tags: Record<string, string>;
  createdAt: number;
  /** AWS: SourceDestCheck, toggled by ModifyInstanceAttribute. */
  sourceDestCheck: boolean;
}

export interface InventoryShape {
  /** The n-th id of this cloud's format (i-…, i-bp…, name). */
  idFor(n: number): string;
  zones: readonly string[];
  /** The VPC's address space the private IPs come from, as the first two octets (`10.0`). */
  ipPrefix: string;
  /**
   * A cloud whose VMs have no id of their own (GCE: names unique per zone) derives it from name and zone;
   * the given `id` (or idFor(n)) is then the name. Without it the id is given or idFor(n).
   */
  idOf?: (name: string, zone: string) => string;
}

export class EmuInventory {
  private readonly byId = new Map<string, EmuInstance>();
  private serial = 0;
  private readonly shape: InventoryShape;
  private readonly now: () => number;

  constructor(shape: InventoryShape, now: () => number) {
    this.shape = shape;
    this.now = now;
  }

  /** Admin body: `{count, tags?, zone?, state?}` or `{instances: [...]}`. */
  addFromAdmin(body: unknown, defaultTags: Record<string, string>): EmuInstance[] {
    if (typeof body !== 'object' || body === null) throw new AdminError('instances: body must be an object');
    const b = body as Record<string, unknown>;
    if (Array.isArray(b.instances))
      return b.instances.map((x) => this.addOne(x as Record<string, unknown>, defaultTags));
    if (!Number.isInteger(b.count) || (b.count as number) < 1 || (b.count as number) > 100_000) {
      throw new AdminError('instances: give {count: 1..100000} or {instances: [...]}');
    }
    const out: EmuInstance[] = [];
    for (let i = 0; i < (b.count as number); i++)
      out.push(this.addOne({ tags: b.tags, zone: b.zone, state: b.state }, defaultTags));
    return out;
  }

  add(count: number, tags: Record<string, string>): EmuInstance[] {
    return this.addFromAdmin({ count }, tags);
  }

  private addOne(x: Record<string, unknown>, defaultTags: Record<string, string>): EmuInstance {
    const n = ++this.serial;
    const zone = typeof x.zone === 'string' ? x.zone : (this.shape.zones[n % this.shape.zones.length] as string);
    const given = typeof x.id === 'string' ? x.id : this.shape.idFor(n);
    const name = typeof x.name === 'string' ? x.name : this.shape.idOf ? given : `node-${n}`;
    const id = this.shape.idOf ? this.shape.idOf(name, zone) : given;
    if (this.byId.has(id)) throw new AdminError(`instances: ${id} exists`);
    const tags = x.tags !== undefined ? (x.tags as Record<string, string>) : defaultTags;
    if (typeof tags !== 'object' || tags === null) throw new AdminError('instances: tags must be an object');
    const inst: EmuInstance = {
      id,
      name,
      privateIp:
        typeof x.privateIp === 'string'
          ? x.privateIp
          : `${this.shape.ipPrefix}.${Math.floor(n / 250) % 256}.${(n % 250) + 4}`,
      zone,
      state: typeof x.state === 'string' ? (x.state as EmuInstanceState) : 'running',
      tags: { ...tags },
      createdAt: this.now(),
      sourceDestCheck: true,
    };
    this.byId.set(id, inst);
    return inst;
  }

  get(id: string): EmuInstance | undefined {
    return this.byId.get(id);
  }

  /** Terminated VMs stay visible for a while on every cloud; here they stay until the emulator stops. */
  terminate(id: string): EmuInstance | undefined {
    const i = this.byId.get(id);
    if (i) i.state = 'terminated';
    return i;
  }

  list(): EmuInstance[] {
    return [...this.byId.values()];
  }

  live(): EmuInstance[] {
    return this.list().filter((i) => i.state !== 'terminated');
  }
}

export function matchesTags(inst: EmuInstance, filter: Record<string, string>): boolean {
  return Object.entries(filter).every(([k, v]) => inst.tags[k] === v);
}
