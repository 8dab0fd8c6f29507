// Convergence from empty: N VMs, no routes, one controller; wall time, API calls, wasted writes and the
// ratio to the bound the emulator's limits allow. `node bench/convergence.ts --sizes 100 --clouds aws`.
import type { ProviderKind } from '../providers/plugins.ts';
import { bound, converge, startBenchCloud, summarize, table } from './common.ts';
import { benchFlags, type Flags, sizesCloudsScale } from './flags.ts';

export interface ConvergenceRow extends Record<string, string | number> {
  cloud: ProviderKind;
  vms: number;
  converged: string;
  passes: number;
  wallS: string;
  cpuS: string;
  emulatedS: string;
  boundS: string;
  ratio: string;
  boundBy: string;
  reads: number;
  writes: number;
  wastedWrites: number;
  calls: string;
}

export async function convergence(kind: ProviderKind, vms: number, timeScale: number): Promise<ConvergenceRow> {
  const c = await startBenchCloud(kind, { instances: vms, timeScale });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await converge(c);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const s = summarize(c.emu);
    const tables = r.last.tables.length;
    const b = bound(kind, vms, tables);
    const emulated = wall * timeScale;
    return {
      cloud: kind,
      vms,
      converged: r.converged ? 'yes' : 'NO',
      passes: r.passes,
      wallS: wall.toFixed(1),
      // Emulator + SDK + controller share this process: CPU near the wall time means the run was CPU-bound
      // and the emulated figure (wall × time scale) overstates the controller's own pacing.
      cpuS: ((cpu.user + cpu.system) / 1e6).toFixed(1),
      emulatedS: emulated.toFixed(0),
      boundS: b.seconds.toFixed(0),
      ratio: (emulated / b.seconds).toFixed(2),
      boundBy: b.limitedBy,
      reads: s.reads,
      writes: s.writes,
      wastedWrites: s.wastedWrites,
      calls: Object.entries(s.byAction)
        .map(([a, n]) => `${a}=${n}`)
        .join(' '),
    };
  } finally {
    await c.close();
  }
}

export async function runConvergence(f: Flags): Promise<ConvergenceRow[]> {
  const rows: ConvergenceRow[] = [];
  for (const kind of f.clouds)
    for (const n of f.sizes) {
      rows.push(await convergence(kind, n, f.timeScale));
      // Progress on stderr: a 5,000-VM row takes minutes.
      process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
  return rows;
}

if (import.meta.main) {
  const f = benchFlags(
    'convergence',
    'node bench/convergence.ts [flags]: N VMs from empty to converged, per cloud (realistic profile, time-scaled)',
    sizesCloudsScale({ sizes: [100, 1000, 5000], timeScale: 10 }),
  );
  process.stdout.write(`${table(await runConvergence(f))}\n`);
}
