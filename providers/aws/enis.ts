// Which network interface is which instance's. Routes go to an instance's primary ENI (device index 0) by
// NetworkInterfaceId: EC2 refuses an InstanceId target, and the source/dest check by instance, for an
// instance with several ENIs (kubernetes/kubernetes#70924). The directory learns ENIs from every
// DescribeInstances answer (listing, lookups) and asks EC2 for the ones it has not seen; an instance's
// primary ENI never changes while it lives, so what is learned stays.
import type { Instance as Ec2Instance } from '@aws-sdk/client-ec2';

export interface EniAttachment {
  instanceId: string;
  deviceIndex: number;
}

export class EniDirectory {
  private readonly primaries = new Map<string, string>();
  private readonly owners = new Map<string, EniAttachment>();

  /** Records the ENIs a DescribeInstances answer lists for an instance. */
  learn(i: Ec2Instance): void {
    if (typeof i.InstanceId !== 'string') return;
    for (const n of i.NetworkInterfaces ?? []) {
      const id = n.NetworkInterfaceId;
      const index = n.Attachment?.DeviceIndex;
      if (typeof id !== 'string' || typeof index !== 'number') continue;
      this.owners.set(id, { instanceId: i.InstanceId, deviceIndex: index });
      if (index === 0) this.primaries.set(i.InstanceId, id);
    }
  }

  learnAttachment(eni: string, a: EniAttachment): void {
    this.owners.set(eni, a);
    if (a.deviceIndex === 0) this.primaries.set(a.instanceId, eni);
  }

  primaryOf(instanceId: string): string | undefined {
    return this.primaries.get(instanceId);
  }

  /** The instance an ENI belongs (or, for a deleted one, belonged) to, as far as this process has seen. */
  ownerOf(eni: string): EniAttachment | undefined {
    return this.owners.get(eni);
  }
}
