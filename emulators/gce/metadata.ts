// GCE's metadata server: /computeMetadata/v1/… answers only requests with `Metadata-Flavor: Google` (403
// otherwise) and marks its answers with the same header. The instance is known by its name.
import { metadataText as text, type MetadataHandler } from '../shared/metadata.ts';

export const gceMetadata: MetadataHandler = (req, path, vm) => {
  const flavor = { 'metadata-flavor': 'Google' };
  if (req.headers['metadata-flavor'] !== 'Google')
    return text(403, 'Missing Metadata-Flavor:Google header.', 'metadata-403', flavor);
  if (req.method !== 'GET') return text(405, '', 'metadata-405', flavor);
  const values: Record<string, string> = {
    '/computeMetadata/v1/instance/name': vm.name,
    '/computeMetadata/v1/instance/hostname': `${vm.name}.c.emulated.internal`,
    '/computeMetadata/v1/instance/zone': `projects/0/zones/${vm.zone}`,
    '/computeMetadata/v1/instance/network-interfaces/0/ip': vm.privateIp,
  };
  const v = values[path];
  return v === undefined ? text(404, '', 'metadata-404', flavor) : text(200, v, 'ok', flavor);
};
