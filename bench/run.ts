// `npm run bench`: every benchmark in turn, each row printed as it lands (a slow cloud does not hide the
// others). Flags as for each bench: --sizes 100,1000 --clouds aws --time-scale 10. A row that takes longer
// than ROW_TIMEOUT_S is reported as a timeout, not waited for.
import { convergence } from './convergence.ts';
import { naiveVsRoutesync } from './naive.ts';
import { steady } from './steady.ts';
import { table } from './common.ts';
import { benchFlags, defaults, sizesCloudsScale } from './flags.ts';
import { allocation } from './allocation.ts';
import { FAILOVER_FLAGS, failover, failoverOptions } from './failover.ts';

const ROW_TIMEOUT_S = Number(process.env.BENCH_ROW_TIMEOUT_S ?? 600);

async function row<T extends Record<string, string | number>>(
  label: Record<string, string | number>,
  fn: () => Promise<T>,
): Promise<Record<string, string | number>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Record<string, string | number>>((resolve) => {
    timer = setTimeout(() => resolve({ ...label, result: `TIMEOUT after ${ROW_TIMEOUT_S}s` }), ROW_TIMEOUT_S * 1000);
  });
  try {
    return await Promise.race([
      fn().catch((e: unknown) => ({ ...label, result: `ERROR ${e instanceof Error ? e.message : String(e)}` })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const f = benchFlags(
  'bench',
  'npm run bench -- [flags]: every benchmark in turn (failover always at time scale 1, its own defaults)',
  sizesCloudsScale({ sizes: [100, 1000, 5000], timeScale: 10 }),
);
const out = (s: string) => process.stdout.write(`${s}\n`);
out(`# routesync benchmarks — sizes ${f.sizes.join(',')}, clouds ${f.clouds.join(',')}, time scale ${f.timeScale}\n`);

out('## Convergence from empty');
for (const kind of f.clouds)
  for (const n of f.sizes) out(table([await row({ cloud: kind, vms: n }, () => convergence(kind, n, f.timeScale))]));

out('\n## Steady state and drift repair');
for (const kind of f.clouds)
  for (const n of f.sizes.filter((s) => s >= 1000).length ? f.sizes.filter((s) => s >= 1000) : f.sizes) {
    out(table([await row({ cloud: kind, vms: n }, () => steady(kind, n, f.timeScale))]));
  }

out('\n## Naive per-node pattern vs routesync');
for (const kind of f.clouds)
  for (const n of f.sizes.filter((s) => s <= 1000))
    out(table([await row({ cloud: kind, vms: n }, () => naiveVsRoutesync(kind, n, f.timeScale))]));

out('\n## Allocation into a real etcd vs raw puts');
out(table([await row({ allocations: 5000 }, () => allocation(5000))]));

// Real time against real TTLs (emulator at time scale 1), whatever --time-scale says for the rows above.
out('\n## Failover: leader SIGKILLed mid-apply → first write by the new leader');
for (const ttl of [2, 5, 10]) {
  const o = { ...failoverOptions(defaults(FAILOVER_FLAGS)), ttlsS: [ttl] };
  out(
    table([
      await row(
        { cloud: o.provider, electionTTL: `${ttl}s` },
        async () => (await failover(o))[0] as Record<string, string | number>,
      ),
    ]),
  );
}
process.exit(0);
