// provider.gce: the client pacing under Compute's per-minute rate groups, for projects whose quota was raised.
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config.ts';

const gce = (extra: Record<string, unknown> = {}) => ({
  cluster: 'prod',
  clusterCIDR: '172.16.0.0/16',
  provider: { type: 'gce', project: 'p', network: 'n', ...extra },
});

function problems(doc: unknown): string[] {
  try {
    validateConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('provider.gce', () => {
  it('takes the per-minute pacing of writes and operation reads; absent, the defaults apply', () => {
    const c = validateConfig(gce({ gce: { writesPerMinute: 2800, operationReadsPerMinute: 3000 } }));
    expect(c.provider).toMatchObject({ gce: { writesPerMinute: 2800, operationReadsPerMinute: 3000 } });
    expect(validateConfig(gce()).provider).not.toHaveProperty('gce');
  });

  it('refuses a figure that is not a whole number of requests, or an unknown key, in one line naming it', () => {
    expect(problems(gce({ gce: { writesPerMinute: 0 } }))).toEqual([
      "provider.gce.writesPerMinute: must be at least 1 (Compute's default group allows 1500 per minute by default)",
    ]);
    expect(problems(gce({ gce: { operationReadsPerMinute: 2.5 } }))).toEqual([
      'provider.gce.operationReadsPerMinute: must be a whole number of requests',
    ]);
    expect(problems(gce({ gce: { writesPerMinute: '1400' } }))).toEqual([
      'provider.gce.writesPerMinute: must be a number',
    ]);
    expect(problems(gce({ gce: { burst: 10 } }))).toEqual(['provider.gce.burst: unknown key']);
    expect(problems(gce({ gce: 1400 }))).toEqual([
      'provider.gce: must be a mapping {writesPerMinute, operationReadsPerMinute}',
    ]);
  });
});
