// Reading Aliyun route entries (DescribeRouteEntryList): every page, each entry's destination checked, and
// the paging loop the adapter's listings share (each page turned into what is kept before the next).
import { isCidr } from '../../src/lib/cidr.ts';
import { collectPages } from '../../src/lib/paging.ts';
import type { Route, RouteTable } from '../types.ts';
import type { AliyunApi } from './client.ts';
import { malformed } from './errors.ts';
import { toRoute } from './mark.ts';
import * as S from './schemas.ts';

const PAGE = 100;

/**
 * An entry's destination is an IPv4 CIDR, an IPv6 CIDR or a prefix list id (`pl-…`); anything else is a
 * broken answer, never a route to plan with.
 */
function checkDestination(dest: string, tableId: string, requestId: string): void {
  if (isCidr(dest) || dest.includes(':') || /^pl-[a-z0-9]+$/.test(dest)) return;
  throw malformed(
    'DescribeRouteEntryList',
    `an entry of ${tableId} has destination ${JSON.stringify(dest)}, not a CIDR`,
    requestId,
  );
}

interface EntriesDeps {
  api: AliyunApi;
  maxPages: number;
  never: AbortSignal;
  cluster: string;
}

export function aliyunEntries(d: EntriesDeps) {
  const { api, maxPages, never, cluster } = d;

  // Each page is turned into what the caller keeps before the next one is fetched: the parsed wire objects
  // of a 5,000-VM listing (and the response bodies their strings slice) die page by page, not at the end.
  async function paged<W, T>(
    action: string,
    key: (w: W) => string,
    as: (w: W) => T,
    fetchPage: (
      token: string | undefined,
    ) => Promise<{ items: W[]; next: string | undefined; total?: number | undefined }>,
  ): Promise<T[]> {
    const all: T[] = [];
    await collectPages(fetchPage, (w) => all.push(as(w)), {
      pageSize: PAGE,
      key,
      maxPages,
      fail: (why) => malformed(action, why),
    });
    return all;
  }

  async function entryPage(
    table: RouteTable,
    token: string | undefined,
    extra: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ items: S.RouteEntryWire[]; next: string | undefined }> {
    const r = await api.call(
      'vpc',
      'DescribeRouteEntryList',
      { RouteTableId: table.id, MaxResult: PAGE, ...extra, ...(token ? { NextToken: token } : {}) },
      S.DescribeRouteEntryList,
      signal,
    );
    for (const e of r.RouteEntrys.RouteEntry) checkDestination(e.DestinationCidrBlock, table.id, r.RequestId);
    return { items: r.RouteEntrys.RouteEntry, next: r.NextToken || undefined };
  }

  function listEntriesAs<T>(
    table: RouteTable,
    signal: AbortSignal,
    extra: Record<string, string>,
    as: (e: S.RouteEntryWire) => T,
  ): Promise<T[]> {
    // RouteEntryId is the entry's provider id: an entry listed twice (overlapping pages) is one entry.
    return paged(
      'DescribeRouteEntryList',
      (e: S.RouteEntryWire) => e.RouteEntryId,
      as,
      (token) => entryPage(table, token, extra, signal),
    );
  }

  /** The whole table if it fits in `pages` pages; undefined as soon as a further page would be needed. */
  async function entriesWithin(
    table: RouteTable,
    pages: number,
    signal: AbortSignal,
  ): Promise<S.RouteEntryWire[] | undefined> {
    const out: S.RouteEntryWire[] = [];
    const tooBig = new Error('more pages than wanted');
    try {
      await collectPages(
        (token) => entryPage(table, token, {}, signal),
        (e) => out.push(e),
        {
          pageSize: PAGE,
          key: (e) => e.RouteEntryId,
          maxPages: pages,
          // Over this small budget the table is just too big for a whole-table look; anything else is a broken answer.
          fail: (why, kind) => (kind === 'budget' ? tooBig : malformed('DescribeRouteEntryList', why)),
        },
      );
    } catch (e) {
      if (e === tooBig) return undefined;
      throw e;
    }
    return out;
  }

  function listEntries(
    table: RouteTable,
    signal: AbortSignal,
    extra: Record<string, string> = {},
  ): Promise<S.RouteEntryWire[]> {
    return listEntriesAs(table, signal, extra, (e) => e);
  }

  function listRoutes(table: RouteTable, signal: AbortSignal = never): Promise<Route[]> {
    return listEntriesAs(table, signal, {}, (e) => toRoute(e, table.id, cluster));
  }

  return { paged, listEntriesAs, entriesWithin, listEntries, listRoutes };
}
