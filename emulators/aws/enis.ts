// Network interfaces of the emulated instances, as EC2 has them: every instance has a primary ENI (device
// index 0) that lives and dies with it; some have more (device 1, 2, …) that stay, detached, when the
// instance terminates. Source/dest check is per ENI (the instance attribute is its primary's). Nothing is
// stored about an instance's lifecycle here: an ENI's existence and attachment are derived from the
// inventory on every read, as route states are.
import type { EmuInstance, EmuInventory } from '../shared/inventory.ts';

export interface EniView {
  id: string;
  /** The instance it is attached to now (none once a secondary ENI's instance is gone). */
  instanceId: string | undefined;
  deviceIndex: number;
  sourceDestCheck: boolean;
  /** Attached to something: an instance, or (a foreign ENI) a resource that is no instance of this VPC's. */
  inUse: boolean;
}

interface Secondary {
  id: string;
  owner: string;
  deviceIndex: number;
  sourceDestCheck: boolean;
}

export class EniTable {
  private readonly inventory: EmuInventory;
  private readonly secondaries = new Map<string, Secondary>();
  private readonly byInstance = new Map<string, Secondary[]>();
  private readonly foreign = new Set<string>();
  private serial = 0;

  constructor(inventory: EmuInventory) {
    this.inventory = inventory;
  }

  /** The primary ENI's id is derived from the instance's (i-0abc… → eni-0abc…). */
  primaryId(instanceId: string): string {
    return `eni-${instanceId.replace(/^i-/, '')}`;
  }

  /**
   * An ENI that belongs to no instance of the emulator (a NAT box, an endpoint, a load balancer): what an
   * out-of-band route to `eni-…` points at, in use, so its route is active.
   */
  addForeign(id: string): void {
    if (!this.secondaries.has(id) && !this.get(id)) this.foreign.add(id);
  }

  /** Attaches `count` more ENIs to the instance (device indexes after the ones it has). */
  attach(instanceId: string, count: number): void {
    const list = this.byInstance.get(instanceId) ?? [];
    for (let k = 0; k < count; k++) {
      const id = `eni-0${(0xe000000 + ++this.serial).toString(16).padStart(16, '0')}`;
      const s: Secondary = { id, owner: instanceId, deviceIndex: list.length + 1, sourceDestCheck: true };
      list.push(s);
      this.secondaries.set(id, s);
    }
    this.byInstance.set(instanceId, list);
  }

  /** The instance's attached ENIs, primary first; none once it is terminated. */
  of(inst: EmuInstance): EniView[] {
    if (inst.state === 'terminated') return [];
    return [
      {
        id: this.primaryId(inst.id),
        instanceId: inst.id,
        deviceIndex: 0,
        sourceDestCheck: inst.sourceDestCheck,
        inUse: true,
      },
      ...(this.byInstance.get(inst.id) ?? []).map((s) => ({
        id: s.id,
        instanceId: inst.id,
        deviceIndex: s.deviceIndex,
        sourceDestCheck: s.sourceDestCheck,
        inUse: true,
      })),
    ];
  }

  /** An ENI that exists now: a primary while its instance is not terminated, a secondary or foreign one always. */
  get(id: string): EniView | undefined {
    const s = this.secondaries.get(id);
    if (s) {
      const owner = this.inventory.get(s.owner);
      const attached = owner !== undefined && owner.state !== 'terminated';
      return {
        id,
        instanceId: attached ? s.owner : undefined,
        deviceIndex: s.deviceIndex,
        sourceDestCheck: s.sourceDestCheck,
        inUse: attached,
      };
    }
    if (this.foreign.has(id)) return { id, instanceId: undefined, deviceIndex: 0, sourceDestCheck: true, inUse: true };
    const m = /^eni-(.+)$/.exec(id);
    const inst = m ? this.inventory.get(`i-${m[1]}`) : undefined;
    if (!inst || inst.state === 'terminated') return undefined;
    return { id, instanceId: inst.id, deviceIndex: 0, sourceDestCheck: inst.sourceDestCheck, inUse: true };
  }

  /** Every ENI that exists now (for DescribeNetworkInterfaces without ids). */
  all(): EniView[] {
    const out: EniView[] = [];
    for (const inst of this.inventory.list()) {
      const attached = this.of(inst);
      out.push(...attached);
      if (attached.length === 0)
        for (const s of this.byInstance.get(inst.id) ?? []) out.push(this.get(s.id) as EniView);
    }
    for (const id of this.foreign) out.push(this.get(id) as EniView);
    return out;
  }

  count(instanceId: string): number {
    return 1 + (this.byInstance.get(instanceId)?.length ?? 0);
  }

  setSourceDestCheck(id: string, value: boolean): void {
    const s = this.secondaries.get(id);
    if (s) {
      s.sourceDestCheck = value;
      return;
    }
    const eni = this.get(id);
    const inst = eni?.instanceId ? this.inventory.get(eni.instanceId) : undefined;
    if (inst) inst.sourceDestCheck = value;
  }
}
