// Base layer: imports nothing of ours. The one bounded worker pool: at most `limit` calls of `fn` in flight.

/**
 * Calls `fn` for every item, in order of start, with at most `limit` (at least 1) in flight. The first
 * rejection rejects the whole (the workers already running finish their item; no new item starts after
 * an abort of `signal`).
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      signal?.throwIfAborted();
      await fn(items[next++] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
