// Base layer: imports nothing of ours. Batching for APIs that take at most N items per call.

/** `items` in order, cut into runs of at most `size` (the last may be shorter); `[]` for no items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunks: size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
