// provider.aws.writeRateLimit: the client bucket of each EC2 mutating action, for accounts whose limits AWS raised.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText, validateConfig } from '../../src/config.ts';

const aws = { cluster: 'prod', clusterCIDR: '172.16.0.0/16', provider: { type: 'aws', region: 'us-east-1', vpcId: 'vpc-1' } };
const withLimit = (writeRateLimit: unknown, type = 'aws') => ({ ...aws, provider: { ...aws.provider, type, aws: { writeRateLimit } } });

function problems(doc: unknown): string[] {
  try {
    validateConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('provider.aws.writeRateLimit', () => {
  it('is absent by default (the provider uses the EC2 defaults) and accepted with both fields', () => {
    expect(validateConfig(aws).provider.aws).toBeUndefined();
    expect(validateConfig(withLimit({ burst: 200, perSecond: 20 })).provider.aws).toEqual({ writeRateLimit: { burst: 200, perSecond: 20 } });
    const c = parseConfigText(
      'cluster: prod\nclusterCIDR: 10.0.0.0/8\nprovider:\n  type: aws\n  region: us-east-1\n  vpcId: vpc-1\n  aws:\n    writeRateLimit: {burst: 100, perSecond: 2.5}\n',
    );
    expect(c.provider.aws?.writeRateLimit).toEqual({ burst: 100, perSecond: 2.5 });
  });

  it('bad values: one line naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ burst: 0, perSecond: 5 }, 'provider.aws.writeRateLimit.burst: must be at least 1 (EC2 default 50)'],
      [{ burst: 2.5, perSecond: 5 }, 'provider.aws.writeRateLimit.burst: must be a whole number of requests'],
      [{ burst: '50', perSecond: 5 }, 'provider.aws.writeRateLimit.burst: must be a number'],
      [{ burst: 50, perSecond: 0 }, 'provider.aws.writeRateLimit.perSecond: must be above 0 requests per second (EC2 default 5)'],
      [{ burst: 50, perSecond: -1 }, 'provider.aws.writeRateLimit.perSecond: must be above 0 requests per second (EC2 default 5)'],
      [{ burst: 50 }, 'provider.aws.writeRateLimit.perSecond: is required'],
      [{ burst: 50, perSecond: 5, perMinute: 300 }, 'provider.aws.writeRateLimit.perMinute: unknown key'],
      ['5/s', 'provider.aws.writeRateLimit: must be a mapping {burst, perSecond}'],
    ];
    for (const [limit, line] of cases) expect(problems(withLimit(limit))).toEqual([line]);
    expect(problems({ ...aws, provider: { ...aws.provider, aws: { writeLimit: {} } } })).toEqual(['provider.aws.writeLimit: unknown key']);
  });

  it('only applies to provider.type aws', () => {
    const gce = { ...aws, provider: { type: 'gce', project: 'p', network: 'n', aws: { writeRateLimit: { burst: 50, perSecond: 5 } } } };
    expect(problems(gce)).toEqual(['provider.aws: only applies to provider.type aws']);
    const aliyun = withLimit({ burst: 50, perSecond: 5 }, 'aliyun');
    expect(problems(aliyun)).toEqual(['provider.aws: only applies to provider.type aws']);
  });
});
