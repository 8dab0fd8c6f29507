// GCE's metadata server: every read carries Metadata-Flavor: Google. Names are unique per zone only, so
// the id our provider uses is `<zone>/<name>` (./instance-id.ts): the instance's name and its zone, which
// the server answers as `projects/<number>/zones/<zone>`.
import type { MetadataService } from '../plugin.ts';
import { gceInstanceId } from './instance-id.ts';

export const gceMetadata: MetadataService = {
  endpoint: 'http://metadata.google.internal',
  async instanceId(get) {
    const headers = { 'metadata-flavor': 'Google' };
    const name = await get('/computeMetadata/v1/instance/name', { headers });
    const path = '/computeMetadata/v1/instance/zone';
    const zone = await get(path, { headers });
    // An answer that is not of that shape is left for the caller's check to refuse, naming the zone's URL.
    const z = /(?:^|\/)zones\/([^/]+)$/.exec(zone)?.[1];
    return z ? { path, id: gceInstanceId(z, name) } : { path, id: zone };
  },
};
