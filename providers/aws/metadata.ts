// The EC2 instance metadata service (IMDSv2): a session token first (PUT), then the read with it. Hop
// limit and all, this is what instances with HttpTokens=required accept.
import type { MetadataService } from '../plugin.ts';

export const awsMetadata: MetadataService = {
  endpoint: 'http://169.254.169.254',
  async instanceId(get) {
    const token = await get('/latest/api/token', {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' },
    });
    const path = '/latest/meta-data/instance-id';
    return { path, id: await get(path, { headers: { 'x-aws-ec2-metadata-token': token } }) };
  },
};
