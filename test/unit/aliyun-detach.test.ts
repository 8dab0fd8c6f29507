// Strings the Aliyun schemas hand out must not keep the response body they were cut from alive: pop-core's
// JSON parser returns substrings of the whole body, and a 5,000-VM listing keeps an id from every page.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DescribeRouteEntryList, detach } from '../../providers/aliyun/schemas.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const PAGES = 100;
const PAD = 200_000;

/** What json-bigint does: each string value is `body.substring(...)` of a body of `PAD` characters. */
function pageEntryIds(page: number): { id: string; dest: string } {
  const body = `{"RouteEntryId":"rte-bp1emu${String(page).padStart(12, '0')}","DestinationCidrBlock":"172.16.${page}.0/26","pad":"${'x'.repeat(PAD)}"}`;
  const cut = (key: string) => {
    const at = body.indexOf(`"${key}":"`) + key.length + 4;
    return body.substring(at, body.indexOf('"', at));
  };
  return { id: cut('RouteEntryId'), dest: cut('DestinationCidrBlock') };
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('aliyun wire strings', () => {
  it('detach keeps the value', () => {
    for (const s of ['', 'short', 'rte-bp1emu000000000001', '172.16.0.0/26', 'ü-non-latin-ååååååååå'])
      expect(detach(s)).toBe(s);
  });

  it('parsed entries hold their values without pinning the bodies they were cut from', () => {
    const base = heapAfterGc();
    const kept = [];
    for (let p = 0; p < PAGES; p++) {
      const { id, dest } = pageEntryIds(p);
      const page = DescribeRouteEntryList.parse({
        RequestId: 'r',
        RouteEntrys: {
          RouteEntry: [
            {
              RouteEntryId: id,
              DestinationCidrBlock: dest,
              Type: 'Custom',
              Status: 'Available',
              NextHops: { NextHop: [{ NextHopType: 'Instance', NextHopId: id }] },
            },
          ],
        },
      });
      kept.push(...page.RouteEntrys.RouteEntry);
    }
    const grown = heapAfterGc() - base;
    expect(kept.map((e) => e.RouteEntryId)).toEqual(
      Array.from({ length: PAGES }, (_, p) => `rte-bp1emu${String(p).padStart(12, '0')}`),
    );
    // Pinned bodies would be PAGES × PAD bytes (20 MB); the entries themselves are a few kB.
    expect(grown).toBeLessThan((PAGES * PAD) / 10);
  });

  it('the same substrings without detach do pin their bodies (the test can see what it guards against)', () => {
    const base = heapAfterGc();
    const kept = [];
    for (let p = 0; p < PAGES; p++) kept.push(pageEntryIds(p).id);
    const grown = heapAfterGc() - base;
    expect(kept).toHaveLength(PAGES);
    expect(grown).toBeGreaterThan((PAGES * PAD) / 2);
  });
});
