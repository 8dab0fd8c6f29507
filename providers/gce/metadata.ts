// GCE's metadata server: every read carries Metadata-Flavor: Google. VMs are known by name (the id our
// provider uses).
import type { MetadataService } from '../plugin.ts';

export const gceMetadata: MetadataService = {
  endpoint: 'http://metadata.google.internal',
  async instanceId(get) {
    const path = '/computeMetadata/v1/instance/name';
    return { path, id: await get(path, { headers: { 'metadata-flavor': 'Google' } }) };
  },
};
