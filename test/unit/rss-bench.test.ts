// bench/rss.ts decides "converged" from the emulator's admin state, the same shape for every cloud.
import { describe, expect, it } from 'vitest';
import { countOurRoutes } from '../../bench/rss.ts';

describe('rss bench route count', () => {
  it('counts instance routes inside the cluster CIDR in every table, whatever the cloud', () => {
    const state = {
      tables: [
        {
          id: 'vtb-1',
          routes: [
            { destination: '192.168.0.0/24', target: null, nextHop: 'local' },
            { destination: '172.16.0.0/26', target: 'i-1', description: 'routesync:test', state: 'pending' },
            { destination: '172.16.0.64/26', target: 'i-2', state: 'active' },
            { destination: '10.0.0.0/24', target: 'i-3' },
            { destination: '172.16.1.0/24', target: null, nextHop: 'nat-1' },
          ],
        },
        {
          id: 'vtb-2',
          routes: [
            { destination: '172.16.0.0/26', target: 'vm-1' },
            { destination: 'fd00::/64', target: 'i-1' },
          ],
        },
      ],
    };
    expect(countOurRoutes(state, '172.16.0.0/12')).toBe(3);
  });

  it('refuses a state without tables instead of reading it as "no routes yet"', () => {
    expect(() => countOurRoutes({ instances: [] }, '172.16.0.0/12')).toThrow(/tables/);
  });
});
