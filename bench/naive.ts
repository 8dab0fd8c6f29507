// The pattern older tools use, against the same emulator and the same provider calls, to show the saving:
// every node lists the route table and creates its own route (no batching, no shared read), then a full
// resync (list instances + list routes) every 10 s. Compared with routesync's convergence and its default
// 60 s resync. `node bench/naive.ts --sizes 100 --clouds aws`.
import type { Change } from '../providers/types.ts';
import type { ProviderKind } from '../providers/plugins.ts';
import { converge, startBenchCloud, summarize, table } from './common.ts';
import { benchFlags, type Flags, sizesCloudsScale } from './flags.ts';

const NAIVE_RESYNC_S = 10;
const ROUTESYNC_RESYNC_S = 60;

export async function naiveVsRoutesync(
  kind: ProviderKind,
  vms: number,
  timeScale: number,
): Promise<Record<string, string | number>> {
  // Naive: one list + one create per node, for every table.
  const n = await startBenchCloud(kind, { instances: vms, timeScale, client: 'naive' });
  let naiveCalls: number;
  let naiveWasted: number;
  let naiveSteady: number;
  const t0 = performance.now();
  try {
    const instances = (await n.provider.listInstances()).filter((i) => i.state === 'running');
    const tables = await n.provider.routeTables();
    const subnetOf = (i: number) => `172.${16 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
    await Promise.all(
      instances.map(async (inst, i) => {
        for (const t of tables) {
          await n.provider.listRoutes(t);
          const change: Change = {
            op: 'create',
            table: t.id,
            destination: subnetOf(i),
            target: inst.id,
            reason: 'naive',
          };
          await n.provider.apply(t, [change], { signal: new AbortController().signal });
        }
      }),
    );
    const s = summarize(n.emu);
    naiveCalls = s.total;
    naiveWasted = s.wastedWrites;
    n.emu.counters.reset();
    await n.provider.listInstances();
    for (const t of tables) await n.provider.listRoutes(t);
    naiveSteady = summarize(n.emu).total;
  } finally {
    await n.close();
  }
  const naiveWall = (performance.now() - t0) / 1000;

  const r = await startBenchCloud(kind, { instances: vms, timeScale, client: 'routesync' });
  let ours: ReturnType<typeof summarize>;
  let oursSteady: number;
  const t1 = performance.now();
  try {
    await converge(r);
    ours = summarize(r.emu);
    r.emu.counters.reset();
    await r.pass();
    oursSteady = summarize(r.emu).total;
  } finally {
    await r.close();
  }
  const oursWall = (performance.now() - t1) / 1000;
  const perHour = (perPass: number, everyS: number) => Math.round((perPass * 3600) / everyS);
  return {
    cloud: kind,
    vms,
    naiveCalls,
    naiveWastedWrites: naiveWasted,
    naiveWallS: naiveWall.toFixed(1),
    routesyncCalls: ours.total,
    routesyncWastedWrites: ours.wastedWrites,
    routesyncWallS: oursWall.toFixed(1),
    convergeSaving: `${(naiveCalls / Math.max(1, ours.total)).toFixed(1)}x`,
    naiveSteadyCallsPerHour: perHour(naiveSteady, NAIVE_RESYNC_S),
    routesyncSteadyCallsPerHour: perHour(oursSteady, ROUTESYNC_RESYNC_S),
  };
}

export async function runNaive(f: Flags): Promise<Array<Record<string, string | number>>> {
  const rows = [];
  for (const kind of f.clouds) for (const s of f.sizes) rows.push(await naiveVsRoutesync(kind, s, f.timeScale));
  return rows;
}

if (import.meta.main) {
  const f = benchFlags(
    'naive',
    'node bench/naive.ts [flags]: the per-node list-and-create pattern vs routesync, same emulator and calls',
    sizesCloudsScale({ sizes: [100, 1000], timeScale: 50 }),
  );
  process.stdout.write(`${table(await runNaive(f))}\n`);
}
