// Opaque page tokens shared by the emulators. A token that does not decode is the caller's error, as on
// the real clouds (they reject a tampered NextToken instead of restarting from page one).
export interface Page<T> {
  items: T[];
  nextToken: string | undefined;
}

export function encodeToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

export function decodeToken(token: string | undefined | null): number | null {
  if (token === undefined || token === null || token === '') return 0;
  const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  return m ? Number(m[1]) : null;
}

/** Returns null for an invalid token. */
export function paginate<T>(all: readonly T[], token: string | undefined | null, pageSize: number): Page<T> | null {
  const offset = decodeToken(token);
  if (offset === null || offset > all.length) return null;
  const end = offset + pageSize;
  return { items: all.slice(offset, end), nextToken: end < all.length ? encodeToken(end) : undefined };
}
