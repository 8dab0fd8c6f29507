// Loaded into the measured controller by bench/rss.ts (`--import`), never by the image: on SIGUSR2 it
// writes the V8 heap before and after a full GC to $ROUTESYNC_RSS_PROBE, so a row can say how much of the
// RSS is live data (what a heap limit must fit) and how much is garbage, code or the runtime itself; with
// $ROUTESYNC_HEAP_SNAPSHOT set it also writes a heap snapshot there.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

const out = process.env.ROUTESYNC_RSS_PROBE;
if (out) {
  setFlagsFromString('--expose-gc');
  // A fresh context sees the flag set just above; the main context was created before it.
  const gc = runInNewContext('gc') as () => void;
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  const sample = () => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics()
        .filter((s) => s.physical_space_size > 0)
        .map((s) => [s.space_name, mb(s.space_used_size)]),
    );
    return {
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      spaces,
    };
  };
  process.on('SIGUSR2', () => {
    const before = sample();
    gc();
    const after = sample();
    // The heap itself, for a breakdown by what holds it (bench/heap-summary.ts); after the figures, which
    // it would disturb.
    if (process.env.ROUTESYNC_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.ROUTESYNC_HEAP_SNAPSHOT);
    writeFileSync(out, JSON.stringify({ before, after }));
  });
}
