// Steady state and drift repair on a converged cluster: API calls per resync pass (goal: reads only),
// CPU time per pass, RSS; then one route deleted out of band and the time of the pass that repairs it.
// `node bench/steady.ts --sizes 1000 --clouds aws`.
import type { ProviderKind } from '../providers/plugins.ts';
import { converge, mb, startBenchCloud, summarize, table } from './common.ts';
import { benchFlags, type Flags, sizesCloudsScale } from './flags.ts';

const PASSES = 3;

export async function steady(
  kind: ProviderKind,
  vms: number,
  timeScale: number,
): Promise<Record<string, string | number>> {
  const c = await startBenchCloud(kind, { instances: vms, timeScale });
  try {
    const first = await converge(c);
    c.emu.counters.reset();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let converged = first.converged;
    for (let i = 0; i < PASSES; i++) converged = (await c.pass()).converged && converged;
    const passMs = (performance.now() - t0) / PASSES;
    const cpu = process.cpuUsage(cpu0);
    const s = summarize(c.emu);
    const rss = process.memoryUsage().rss;

    // Drift: delete one of our routes behind the controller's back; the next pass repairs it.
    const alloc = first.last.allocations[0];
    const tableId = first.last.tables[0]?.id;
    let repairMs = NaN;
    if (alloc && tableId) {
      const del = await fetch(`${c.emu.url}/_emulator/routes`, {
        method: 'DELETE',
        body: JSON.stringify({ table: tableId, destination: alloc.subnet }),
      });
      if (del.ok) {
        const t1 = performance.now();
        await converge(c, 10);
        repairMs = performance.now() - t1;
      }
    }
    return {
      cloud: kind,
      vms,
      converged: converged ? 'yes' : 'NO',
      callsPerPass: (s.total / PASSES).toFixed(1),
      writesPerPass: (s.writes / PASSES).toFixed(1),
      cpuMsPerPass: ((cpu.user + cpu.system) / 1000 / PASSES).toFixed(0),
      wallMsPerPass: passMs.toFixed(0),
      rssMB: mb(rss),
      driftRepairWallMs: repairMs.toFixed(0),
      driftRepairEmulatedS: ((repairMs * timeScale) / 1000).toFixed(1),
    };
  } finally {
    await c.close();
  }
}

export async function runSteady(f: Flags): Promise<Array<Record<string, string | number>>> {
  const rows = [];
  for (const kind of f.clouds)
    for (const n of f.sizes) {
      rows.push(await steady(kind, n, f.timeScale));
      process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
  return rows;
}

if (import.meta.main) {
  const f = benchFlags(
    'steady',
    'node bench/steady.ts [flags]: calls and CPU per resync pass on a converged cluster, then one drift repaired',
    sizesCloudsScale({ sizes: [1000, 5000], timeScale: 10 }),
  );
  process.stdout.write(`${table(await runSteady(f))}\n`);
}
