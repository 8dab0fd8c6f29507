// The ECS metadata service at 100.100.100.200: plain GETs.
import type { MetadataService } from '../plugin.ts';

export const aliyunMetadata: MetadataService = {
  endpoint: 'http://100.100.100.200',
  async instanceId(get) {
    const path = '/latest/meta-data/instance-id';
    return { path, id: await get(path) };
  },
};
