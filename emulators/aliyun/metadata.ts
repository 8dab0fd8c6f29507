// Aliyun's metadata service (100.100.100.200 on the cloud): plain GETs under /latest/meta-data/.
import { metadataText as text, type MetadataHandler } from '../shared/metadata.ts';

export const aliyunMetadata: MetadataHandler = (req, path, vm) => {
  if (req.method !== 'GET') return text(405, '', 'metadata-405');
  const values: Record<string, string> = {
    '/latest/meta-data/instance-id': vm.id,
    '/latest/meta-data/private-ipv4': vm.privateIp,
    '/latest/meta-data/zone-id': vm.zone,
    '/latest/meta-data/hostname': vm.name,
  };
  const v = values[path];
  return v === undefined ? text(404, '', 'metadata-404') : text(200, v, 'ok');
};
