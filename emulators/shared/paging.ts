// Opaque page tokens shared by the emulators, and the hostile paging modes they play. A token that does not
// decode is the caller's error, as on the real clouds (they reject a tampered NextToken instead of
// restarting from page one).
export interface Page<T> {
  items: T[];
  nextToken: string | undefined;
}

/**
 * Hostile paging, switched on per request like any fault (`POST /_emulator/faults {"error":"page-short",
 * "action":"DescribeInstances","rate":1}`), played by every listing that pages:
 * - `page-short`: a page after the first comes back empty with no token (while a reported total, e.g.
 *   Aliyun's TotalCount, still counts everything) — the listing ends early;
 * - `page-overlap`: a page after the first starts with the previous page's last entry;
 * - `page-endless`: every answer carries a new, distinct token; past the end the last page comes again;
 * - `page-repeat`: the token handed back is the one the request carried.
 * Under any of them a listing of two or more entries is served in pages of at most half of it (clouds may
 * answer fewer entries than asked for), so that every listing has a page after the first to spoil.
 */
export const PAGE_FAULTS = ['page-short', 'page-overlap', 'page-endless', 'page-repeat'] as const;
export type PageFault = (typeof PAGE_FAULTS)[number];

export function isPageFault(error: string): error is PageFault {
  return (PAGE_FAULTS as readonly string[]).includes(error);
}

/** A request's page fault, and whether a listing actually played it (else the answer is the true one). */
export interface PageFaultState {
  fault: PageFault;
  played: boolean;
}

/** `nonce` makes tokens to the same offset distinct (page-endless). */
export function encodeToken(offset: number, nonce = 0): string {
  return Buffer.from(nonce === 0 ? `o:${offset}` : `o:${offset}:${nonce}`).toString('base64url');
}

export function decodeCursor(token: string | undefined | null): { offset: number; nonce: number } | null {
  if (token === undefined || token === null || token === '') return { offset: 0, nonce: 0 };
  const m = /^o:(\d+)(?::(\d+))?$/.exec(Buffer.from(token, 'base64url').toString());
  return m ? { offset: Number(m[1]), nonce: Number(m[2] ?? 0) } : null;
}

export function decodeToken(token: string | undefined | null): number | null {
  return decodeCursor(token)?.offset ?? null;
}

/** Returns null for an invalid token. `hostile`: the request's page fault, if any (marked played when it bites). */
export function paginate<T>(
  all: readonly T[],
  token: string | undefined | null,
  pageSize: number,
  hostile?: PageFaultState,
): Page<T> | null {
  const cur = decodeCursor(token);
  if (cur === null || cur.offset > all.length) return null;
  const { offset } = cur;
  const size = hostile && all.length >= 2 ? Math.min(pageSize, Math.ceil(all.length / 2)) : pageSize;
  const end = offset + size;
  const page: Page<T> = { items: all.slice(offset, end), nextToken: end < all.length ? encodeToken(end) : undefined };
  if (!hostile) return page;
  const played = (p: Page<T>): Page<T> => {
    hostile.played = true;
    return p;
  };
  switch (hostile.fault) {
    case 'page-short':
      return offset > 0 ? played({ items: [], nextToken: undefined }) : page;
    case 'page-overlap':
      return offset > 0 ? played({ ...page, items: all.slice(offset - 1, end) }) : page;
    case 'page-endless':
      return played({ ...page, nextToken: encodeToken(end < all.length ? end : offset, cur.nonce + 1) });
    case 'page-repeat':
      return token ? played({ ...page, nextToken: token }) : page;
  }
}
