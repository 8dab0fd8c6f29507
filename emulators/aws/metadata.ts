// IMDSv2 as EC2 serves it with `HttpTokens: required`: PUT /latest/api/token with a TTL header returns a
// session token; every GET must carry it, else 401.
import { randomBytes } from 'node:crypto';
import { metadataText as text, type MetadataHandler } from '../shared/metadata.ts';

export function awsMetadata(now: () => number): MetadataHandler {
  const tokens = new Map<string, number>();
  return (req, path, vm) => {
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return text(405, '', 'metadata-405');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text(400, '', 'metadata-400');
      const token = randomBytes(24).toString('base64');
      tokens.set(token, now() + ttl * 1000);
      return text(200, token, 'ok', { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    const until = typeof token === 'string' ? tokens.get(token) : undefined;
    if (until === undefined || until < now()) return text(401, '', 'metadata-401');
    if (req.method !== 'GET') return text(405, '', 'metadata-405');
    const values: Record<string, string> = {
      '/latest/meta-data/instance-id': vm.id,
      '/latest/meta-data/local-ipv4': vm.privateIp,
      '/latest/meta-data/placement/availability-zone': vm.zone,
      '/latest/meta-data/hostname': vm.name,
    };
    const v = values[path];
    return v === undefined ? text(404, '', 'metadata-404') : text(200, v, 'ok');
  };
}
