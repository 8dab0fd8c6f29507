// The AWS bench bound from the AWS profile (`mutatingBucket`, one bucket per action): mutating actions
// 50 burst + 5/s. CreateRoute needs vms × tables tokens and ModifyNetworkInterfaceAttribute (source/dest
// check, per primary ENI) vms tokens, each from its own bucket, so they run side by side:
// max((vms·tables − 50)/5, (vms − 50)/5).
import { type Bound, bucketTime } from '../shared/bound.ts';
import type { AwsProfile } from './profile.ts';

export function awsBound(p: AwsProfile, vms: number, tables: number): Bound {
  const b = p.mutatingBucket;
  const create = bucketTime(vms * tables - 1, b.capacity, b.perSecond);
  const modify = bucketTime(vms - 1, b.capacity, b.perSecond);
  return create >= modify
    ? { seconds: create, limitedBy: 'CreateRoute bucket' }
    : { seconds: modify, limitedBy: 'ModifyNetworkInterfaceAttribute bucket' };
}
